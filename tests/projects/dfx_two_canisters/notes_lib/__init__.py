PLUGINS = ("upper", "reverse")
