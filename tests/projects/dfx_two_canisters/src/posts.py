from basilisk import Record, Vec, nat32, text


class Post(Record):
    id: nat32
    title: text
    tags: Vec[text]


POSTS: list = []


def make_post(title: str, tags: list) -> Post:
    post = Post(id=len(POSTS), title=title, tags=list(tags))
    POSTS.append(post)
    return post
