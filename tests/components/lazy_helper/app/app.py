"""An exported interface whose function imports the app's own helper package when it is called."""

from wit_world import exports
from wit_world.exports.greeter import Greeting


class Greeter(exports.Greeter):
    def greet(self, who: Greeting) -> str:
        from helpers.words import greeting

        return greeting(who.name, who.times)
