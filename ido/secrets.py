"""Secrets in bindings: `${env:NAME}` resolved at call time, and masked wherever ido writes.

A capability's HTTP URL, headers and JSON body, its shell argv, and an observer's URL and
headers may name environment variables as `${env:NAME}`. The YAML, the journal, traces and
reports only ever hold the reference; the value exists in memory for the call, and every
message or error that comes back from any call or observer of a run is masked, of every
secret the catalog names (`catalog_secrets`), before ido records it. In the data a call
gives back (facts the rules read), its own secrets are masked so too, and a secret it does
not use only when long (`SHORTEST_ELSEWHERE`): inside text, or as a number of its digits;
a shorter one there is kept, lest a fact that merely equals it (`role: admin`) be lost.
A run takes for secrets too, by their names, the variables that look like credentials
(`credential_names`): a binding may read one it never declared.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import re
import stat
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ido.errors import ExecutionError
from ido.model.fields import SECRET_REFERENCE

if TYPE_CHECKING:
    from ido.loading.catalog import Catalog

MASK = "***"
SHORTEST_LINE = 8
"""A line of a secret of several lines (a PEM key, `user=…` then `password=…`) is masked
on its own when it is at least this long (shorter, "true" or "}", it would mask every "true"
in the output): errors often quote one line of what they got. A PEM armour line
(`-----BEGIN …`) is no secret, and is not masked alone."""
SHORTEST_ANYWHERE = 8
"""A form of a secret (`forms`) shorter than this is masked only where it stands as a whole
token, not inside a longer run of letters, digits and `_`: a secret "e" masked wherever it
appeared turned `echo_auth` into `***cho_auth`. From this length on, it is masked wherever
it appears (a token cut in two by an error's quoting is still masked)."""
SHORTEST_NUMBER = 4
"""A secret echoed as a JSON number is masked from this many characters on: a secret "1"
would turn every count of 1 into text."""


@functools.lru_cache(maxsize=256)
def forms(secret: str) -> tuple[str, ...]:
    """The ways `secret` shows up in what comes back, longest first: as it is, without the
    line break a file or `.env` ends it with, each of its lines, and each of those as JSON
    (its letters beyond ASCII escaped or not, and quoted in JSON again), Python (`repr`, of
    text and of bytes: how http.client quotes a bad header), URL and base64 encode it, and
    what base64 makes of it inside a longer text (a Basic header); and its bytes in hex."""
    found = {secret, secret.strip()}
    lines = [line.strip() for line in secret.strip().splitlines()]
    if len(lines) > 1:
        found.update(
            line for line in lines if len(line) >= SHORTEST_LINE and not line.startswith("-----")
        )
    for text in list(found):
        found.update(
            (
                json.dumps(text)[1:-1],
                json.dumps(text, ensure_ascii=False)[1:-1],  # as Go and JavaScript write it
                json.dumps(json.dumps(text)[1:-1])[1:-1],  # JSON quoted in JSON
                json.dumps(json.dumps(text, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1],
                json.dumps(json.dumps(text, ensure_ascii=False)[1:-1])[1:-1],  # (either way)
                repr(text)[1:-1],
                repr(text.encode())[2:-1],
                urllib.parse.quote(text, safe=""),
                urllib.parse.quote(text),  # "/" left as it is, as in a path
                urllib.parse.quote_plus(text),
                base64.b64encode(text.encode()).decode(),
            )
        )
    found.update(_inside_base64(secret.strip()))
    if len(secret.strip()) >= SHORTEST_ANYWHERE:  # (of "e", "65" would mask numbers)
        hexed = secret.strip().encode().hex()  # a client's dump of the bytes it sent
        found.update((hexed, hexed.upper()))
    found.discard("")
    return tuple(sorted(found, key=lambda f: (-len(f), f)))


def _inside_base64(secret: str) -> set[str]:
    """What base64 makes of `secret` inside a longer text, at each of the 3 places it may
    start in a group of 3 bytes: the characters of the encoding that hold its bits alone.
    HTTP Basic auth sends base64 of `user:secret`, and a server that quoted the header
    back gave the secret decodable, where base64 of the secret alone matched only when
    `user:` was a multiple of 3 bytes long."""
    data = secret.encode()
    found = set()
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode()
        # a character holding a bit of the bytes before or after it differs with them
        start, end = -(-shift * 8 // 6), (shift + len(data)) * 8 // 6
        if end - start >= SHORTEST_ANYWHERE:
            found.add(encoded[start:end])
    return found


SHORTEST_ELSEWHERE = 8
"""A secret a call does not use itself (named only elsewhere in the catalog) is masked in
the data it gives back (an observer's facts, an output that becomes state) only from this
length on, and only inside text: masked as well when short or a number, a fact that merely
equalled one (`role: admin`, `amount: 15000`) became `***`, and the rule reading it
(`state.requester.role == "admin"`) silently stopped firing."""


def mask_all(value: Any, secrets: Iterable[str], in_text: Iterable[str] = ()) -> Any:
    """`value` with every form (`forms`) of each of `secrets` replaced by `***` in its
    strings (keys too), and a number that is one of them replaced by `***`; of each of
    `in_text`, in its strings only. A form shorter than `SHORTEST_ANYWHERE` is masked only
    where it stands as a whole token; a secret that is empty, or blank, is never masked
    (it would mask every space or line break)."""
    masks = _masks(frozenset(secrets), frozenset(in_text))
    return value if masks is None else _masked(value, masks)


@dataclass(frozen=True)
class _Masks:
    anywhere: re.Pattern[str] | None  # every form of `SHORTEST_ANYWHERE` or more, longest first
    tokens: tuple[str, ...]  # the shorter ones, longest first: masked as whole tokens
    numbers: frozenset[str]
    secrets: frozenset[str]  # the secrets themselves, stripped: what a Basic header may hold


BASIC_CREDENTIALS = re.compile(r"(Basic\s+)([A-Za-z0-9+/]{4,}={0,2})", re.IGNORECASE)
"""An HTTP Basic header's credentials, as a server or a client's log quotes them: base64 of
`user:password`."""
BASIC_WORDS = ("Basic", "basic", "BASIC")
"""How clients and servers write the scheme: where a text holds one of these, and only
there, Basic credentials are looked for (the pattern tried at every place of a text took
several times as long as masking it)."""


def _basic_masked(text: str, secrets: frozenset[str]) -> str:
    """`text` with the Basic credentials it quotes that hold one of `secrets` masked
    (`_basic`): looked for where a word of `BASIC_WORDS` starts (`_word_starts`)."""
    if "asic" not in text and "ASIC" not in text:  # (most texts: two searches, no more)
        return text
    places = sorted(
        place for word in BASIC_WORDS for place in _places(text, word) if _word_starts(text, place)
    )
    kept: list[str] = []
    done = 0
    for place in places:
        found = BASIC_CREDENTIALS.match(text, place) if place >= done else None
        if found is not None:
            kept += [text[done:place], _basic(found, secrets)]
            done = found.end()
    return "".join(kept) + text[done:] if kept else text


JSON_BREAKS = ("\\n", "\\r", "\\t")
"""A line break or tab as JSON text escapes it: a header quoted on a line of its own in a
JSON body a binding gives back as text (`"…\\nBasic Ym90OnB3"`)."""


def _word_starts(text: str, place: int) -> bool:
    """Whether a word starts at `place`: no letter, digit, `_` or `-` before it, or one
    that ends a line break JSON escapes (its `n` was taken for a letter, and credentials
    on a line of their own in a JSON text were left decodable)."""
    if place == 0 or not (text[place - 1].isalnum() or text[place - 1] in "_-"):
        return True
    return text[max(place - 2, 0) : place] in JSON_BREAKS


def _places(text: str, word: str) -> Iterator[int]:
    """Where `word` starts in `text`, each place."""
    place = text.find(word)
    while place != -1:
        yield place
        place = text.find(word, place + 1)


def _basic(match: re.Match[str], secrets: frozenset[str]) -> str:
    """The Basic credentials `match` found, masked whole when their user or password (or
    the pair) is one of `secrets`, however short: inside base64 a secret under
    `SHORTEST_ANYWHERE` characters is encoded otherwise at each place it may start, and
    was left decodable (`bot:` then a 6-character password), where here it is known to be
    a credential. Left as they are otherwise."""
    encoded = match.group(2).rstrip("=")
    try:  # (padded again: a log or a client that strips the `=` leaves it decodable)
        pair = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except ValueError:  # (not base64, or not UTF-8: no credentials ido could know)
        return match.group(0)
    user, _, password = pair.partition(":")
    if {pair, user, password, password.strip()} & secrets:
        return match.group(1) + MASK
    return match.group(0)


@functools.lru_cache(maxsize=64)
def _masks(secrets: frozenset[str], in_text: frozenset[str]) -> _Masks | None:
    """What `mask_all` looks for, worked out once per set of secrets (a run masks every
    call's reply with the same ones): the long forms as one pattern, which reads a text
    once, where replacing each in turn read it once per form (with 30 secrets, several
    times slower)."""
    numbers = frozenset(f for s in secrets if s.strip() for f in forms(s))
    words = numbers | {f for s in in_text if s.strip() for f in forms(s)}
    if not words:
        return None
    every = sorted(words, key=lambda f: (-len(f), f))
    long = [f for f in every if len(f) >= SHORTEST_ANYWHERE]
    anywhere = _overlapping(tuple(long)) if long else None
    known = frozenset(s.strip() for s in (*secrets, *in_text) if s.strip())
    short = tuple(f for f in every if len(f) < SHORTEST_ANYWHERE)
    return _Masks(anywhere, short, numbers, known)


@functools.lru_cache(maxsize=64)
def _overlapping(forms: tuple[str, ...]) -> re.Pattern[str]:
    """`forms` (longest first) as one pattern: where several start at one place, it finds
    the longest. `_cover` masks with it those that overlap too. Forms that begin alike
    share their beginning in it (`_shared`): listed one after another, each was tried at
    every place its first character stood, and the hex of every secret begins with a
    digit (a 10 MB output of digits took 60 times as long)."""
    try:
        return re.compile(_shared(forms))
    except (RecursionError, re.error):  # forms nested thousands deep: one after another
        return re.compile("|".join(map(re.escape, forms)))


def _shared(forms: Iterable[str]) -> str:
    """`forms` as a pattern of the characters they begin with, each once, then what may
    follow: at each place it tries longer before shorter, so finds the longest form."""
    return _following(sorted(set(forms)))


def _following(forms: list[str]) -> str:
    """The pattern of `forms` (sorted, distinct; "" first when a form ends here)."""
    ends = forms[:1] == [""]
    branches = []
    for _, alike in itertools.groupby(forms[ends:], key=lambda form: form[0]):
        group = list(alike)
        common = os.path.commonprefix(group)  # noqa: RUF071 (characters, not paths, are meant)
        branches.append(re.escape(common) + _following([f[len(common) :] for f in group]))
    if not branches:
        return ""
    body = "(?:" + "|".join(branches) + ")" if len(branches) > 1 or ends else branches[0]
    return body + "?" if ends else body


def _cover(pattern: re.Pattern[str], text: str) -> str:
    """`text` with all that the forms `pattern` (`_overlapping`) finds cover masked, as
    one `***` where they overlap. Replaced one match after another, a secret whose start
    another (`xx` + its first characters) ended in was left with its end in the clear.
    (Searched for as one pattern, not tried at every place: that was ten times slower.)"""
    kept: list[str] = []
    done = 0  # where the text masked last ends
    found = pattern.search(text)
    while found is not None:
        start, end = found.span()
        after = pattern.search(text, start + 1)
        while after is not None and after.start() < end:  # starts inside, may end past it
            end = max(end, after.end())
            after = pattern.search(text, after.start() + 1)
        kept += [text[done:start], MASK]
        done, found = end, after
    return "".join(kept) + text[done:] if kept else text


def _masked(value: Any, masks: _Masks) -> Any:
    if isinstance(value, str):
        value = _basic_masked(value, masks.secrets)  # (before any part of them is masked)
        if masks.anywhere is not None:
            value = _cover(masks.anywhere, value)
        for form in masks.tokens:
            if form in value:
                value = _token(form).sub(MASK, value)
        return value
    if isinstance(value, list):
        return [_masked(v, masks) for v in value]
    if isinstance(value, dict):
        return {_masked(k, masks): _masked(v, masks) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)  # a numeric secret echoed back as a JSON number
        return MASK if len(text) >= SHORTEST_NUMBER and text in masks.numbers else value
    return value


@functools.lru_cache(maxsize=256)
def _token(form: str) -> re.Pattern[str]:
    """`form` where no letter, digit or `_` touches it on either side."""
    return re.compile(rf"(?<!\w){re.escape(form)}(?!\w)")


SHORTEST_IN_URL = 4
"""In a URL a message quotes, a secret is masked wherever it stands from this length on,
glued to other text too (`/hooks/T0_ab12cd`): ido put it there (`${env:NAME}` in a path),
or a server echoed it. Shorter ones there, as elsewhere, only as a whole token
(`SHORTEST_ANYWHERE`): a secret "eu" masked inside every URL would turn
`https://api.eu.example` into `https://api.***.example`."""
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def mask_urls(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form (`forms`) of each of `secrets` of `SHORTEST_IN_URL` characters
    or more masked wherever it stands inside a URL `text` quotes: in its host, path, user,
    query or fragment, whatever touches it, and whatever case its percent-escapes are in
    (a server that redirects writes `%2f` where ido sent `%2F`)."""
    if "://" not in text:
        return text
    every = sorted(
        {f for s in secrets if len(s.strip()) >= SHORTEST_IN_URL for f in forms(s)},
        key=lambda f: (-len(f), f),
    )
    if not every:
        return text

    def masked(match: re.Match[str]) -> str:
        url = match.group(0)
        read = _ESCAPE.sub(lambda m: m.group(0).upper(), url)
        shown = _cover(_overlapping(tuple(every)), read)
        return url if shown == read else shown  # (escapes as they were, when none is masked)

    return URL_IN_TEXT.sub(masked, text)


def masked_url(url: str) -> str:
    """`url` with the credentials it may carry masked: what comes before `@` (user and
    password) and the value of every query parameter (`?key=…`). Written without `//`
    (`user:pw@host`, no URL, which an error quotes), all that comes before `@` is masked:
    split as a URL, the password was read as its path and shown."""
    parts = urllib.parse.urlsplit(url)
    address = re.split(r"[?#]", url, maxsplit=1)[0]
    if not parts.netloc and "@" in address:
        parts = urllib.parse.urlsplit(MASK + url[address.rindex("@") :])
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{name}={MASK}" if sep else name
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def url_credentials(url: str) -> list[str]:
    """The credentials `url` carries, as `masked_url` finds them, decoded (`forms` masks
    their encodings too): to mask wherever what was sent to it is echoed. A user and
    password go together too, as `user:password`: the HTTP client sends them as a Basic
    header, that pair base64-encoded, which a server may quote back whole."""
    parts = urllib.parse.urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    values = [value for _, sep, value in (i.partition("=") for i in parts.query.split("&")) if sep]
    found = [urllib.parse.unquote(v) for v in (user, password, *values)]
    if colon:
        found.insert(2, f"{found[0]}:{found[1]}")
    return list(dict.fromkeys(v for v in found if v))


class Environ(Protocol):
    """Where `${env:NAME}` resolves from: the process environment, a mapping of variables,
    or what tells of each name as the environment a recorded run found did
    (`ido.scenario.recorded.AsRecorded`). Only looked up by name, never listed."""

    def __contains__(self, name: object, /) -> bool: ...
    def __getitem__(self, name: str, /) -> str: ...


def lacking(name: str, environ: Environ) -> str | None:
    """Why `environ` cannot resolve `${env:NAME}`: "not set", or "empty" (what CI gives
    for a secret it does not have: no credential at all); None when it can. The check
    before planning and the call itself both ask this, so they cannot disagree."""
    if name not in environ:
        return "not set"
    return None if environ[name] else "empty"


def unresolved(value: Any, environ: Environ) -> tuple[str, str] | None:
    """The first `${env:NAME}` in `value`'s strings (lists and dicts too) that `environ`
    cannot resolve, as (NAME, "not set" or "empty"); None when every one resolves."""
    if isinstance(value, str):
        for match in SECRET_REFERENCE.finditer(value):
            name = match.group(1)
            why = lacking(name, environ)
            if why is not None:
                return name, why
        return None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for v in items if (found := unresolved(v, environ))), None)


def references(value: Any) -> set[str]:
    """The NAME of every `${env:NAME}` in `value`'s strings (lists and dicts, keys too)."""
    if isinstance(value, str):
        return {match.group(1) for match in SECRET_REFERENCE.finditer(value)}
    if isinstance(value, dict):
        return references(list(value)) | references(list(value.values()))
    if isinstance(value, list):
        return {name for v in value for name in references(v)}
    return set()


def catalog_secrets(catalog: Catalog) -> frozenset[str]:
    """Every environment variable `catalog` names as a secret: each `${env:NAME}` in its
    capabilities, observers and intents (an llm block's `api_base`), each llm block's
    `api_key_env`, and each name a binding's or an observer's `secrets` lists. A binding
    inherits ido's whole environment and may print any of them (a debugging `env`, an
    error quoting a key): a run masks them all in what every call and observer gives
    back, not only in what the call that substitutes one does."""
    documents = [*catalog.capabilities.values(), *catalog.observers.values()]
    documents += list(catalog.intents.values())
    names = references([d.model_dump(mode="json") for d in documents])
    names.update(i.spec.llm.api_key_env for i in catalog.intents.values() if i.spec.llm.api_key_env)
    # what bindings and observers read by themselves (`run.secrets`, `secrets`): Python
    # code reads os.environ
    names.update(n for c in catalog.capabilities.values() if c.spec.run for n in c.spec.run.secrets)
    names.update(n for o in catalog.observers.values() for n in o.spec.secrets)
    return frozenset(names)


CREDENTIAL_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|KEY|PAT)(?:_FILE)?$|SECRET|PASSWORD|PASSWD", re.IGNORECASE
)
"""An environment variable whose name says it holds a credential (`GITHUB_TOKEN`,
`STRIPE_API_KEY`, `GITLAB_PAT`, `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`), or names the file
that does (`GITHUB_TOKEN_FILE`, `DB_PASSWORD_FILE`: `held_secret`)."""
FILE_SUFFIX = "_FILE"
LARGEST_HELD = 65536
"""The most bytes of a secret file (`held_secret`) read: a key, a certificate's, a token."""


def held_secret(path: str) -> str | None:
    """The text of the file at `path`, when it is a readable regular file of at most
    `LARGEST_HELD` bytes of UTF-8: a variable ending in `_FILE` names where a secret is
    held, as Docker's and Kubernetes' secrets are given (`POSTGRES_PASSWORD_FILE=
    /run/secrets/db`), and a binding reads it there. None otherwise (a FIFO, a folder, a
    value that is no path), and the variable's value is then the secret, as before."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode) or found.st_size > LARGEST_HELD:
        return None
    return _read_held(path, found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=64)
def _read_held(path: str, mtime: int, size: int) -> str | None:
    """The file's text, read again only when it changed (a run masks every call with it)."""
    try:
        with open(path, "rb") as file:
            text = file.read(LARGEST_HELD + 1).decode()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.strip() and len(text) <= LARGEST_HELD else None


SHORTEST_GUESSED = 8
"""A variable so named is taken for a secret from this many characters on: shorter, it is
a flag or a word (`USE_KEY=1`, `SORT_KEY=id`), which masked would turn facts into `***`."""
UNMASKED = "IDO_UNMASKED_ENV"
"""The variable that names, separated by commas, variables `credential_names` would take
for secrets that are none (`SORT_KEY=created_at`): their values are recorded as they are."""


def _unfinished(text: str, every: set[str]) -> int:
    """Where the end of `text` that begins one of `every` (a form of a secret cut short
    there) starts; `len(text)` when none does."""
    cut = len(text)
    for form in every:
        place = max(len(text) - len(form) + 1, 0)
        while (place := text.find(form[0], place, cut)) != -1:
            if form.startswith(text[place:]):
                cut = place
                break
            place += 1
    return cut


def _guessed(name: str, value: str) -> str:
    """What `name` would be masked as (`Secrets._value`): the text of the file it names
    when it ends in `_FILE` and names one (`held_secret`), its value otherwise. The file's
    path, however short (`pw`) or long, says nothing of the secret's length."""
    held = held_secret(value) if name.upper().endswith(FILE_SUFFIX) else None
    return value if held is None else held


def unmasked_names(environ: Mapping[str, str]) -> set[str]:
    """The variables `IDO_UNMASKED_ENV` names: taken for secrets by their names, and none."""
    return {name.strip() for name in environ.get(UNMASKED, "").split(",")}


def credential_names(environ: Mapping[str, str]) -> frozenset[str]:
    """The variables of `environ` that a binding or observer may read without declaring
    them, taken for secrets by name (`CREDENTIAL_NAME`), of `SHORTEST_GUESSED` characters
    or more, less those `IDO_UNMASKED_ENV` lists. Listed once, when a runtime starts: the
    values are looked up by name at each call (`Secrets.known`), as declared ones are."""
    plain = unmasked_names(environ)
    return frozenset(
        name
        for name, value in environ.items()
        if CREDENTIAL_NAME.search(name)
        and len(_guessed(name, value).strip()) >= SHORTEST_GUESSED
        and name not in plain
    )


@dataclass
class Secrets:
    """Resolves references against `environ` (default: the process environment) and
    remembers every value it handed out."""

    environ: Environ = field(default_factory=lambda: os.environ)
    values: set[str] = field(default_factory=set)
    named: frozenset[str] = frozenset()
    """Variables masked too, though this call names none of them (`catalog_secrets`)."""

    def known(self) -> set[str]:
        """Every value masked: those handed out, and those of the `named` variables set."""
        found = {self._value(name) for name in self.named if lacking(name, self.environ) is None}
        return self.values | found

    def _value(self, name: str) -> str:
        """What `name` holds: its value, or the text of the file it names (`held_secret`)
        when it ends in `_FILE`."""
        return _guessed(name, self.environ[name])

    def uses(self, names: Iterable[str]) -> None:
        """Count the values of `names`, the variables a binding or observer declares it reads
        by itself (`secrets`), as handed out: its own secrets, masked in what it gives back
        whatever their length, as a `${env:NAME}` it names is. (Counted as named elsewhere
        only, one under `SHORTEST_ELSEWHERE` characters that a Python binding returned was
        recorded as it was.) A variable not set is skipped: the binding reads nothing there.
        """
        self.values.update(
            self._value(name) for name in names if lacking(name, self.environ) is None
        )

    def expand(self, value: Any) -> Any:
        """`value` with every `${env:NAME}` in its strings replaced; lists and dicts too."""
        if isinstance(value, str):
            return SECRET_REFERENCE.sub(self._lookup, value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value

    def mask(self, value: Any) -> Any:
        """`value` with every secret handed out so far, or `named`, replaced by `***`, in
        any form (`forms`) and anywhere in it (`mask_all`); in a text, inside the URLs it
        quotes also where a short one is glued to other text (`mask_urls`)."""
        known = self.known()
        masked = mask_all(value, known)
        return mask_urls(masked, known) if isinstance(masked, str) else masked

    def text_mask(self) -> Callable[[str], str]:
        """`mask`, for text, of the secrets known now: for the many lines a Python binding
        or observer prints while it runs (`ido.runtime.printed`). `mask` looks them up again
        for each text (a `_FILE` secret's file read again), and a binding that printed a
        line at a time took 12 times as long as unmasked (`benchmarks/printing_cost.py`)."""
        known = frozenset(self.known())
        masks = _masks(known, frozenset())

        def masked(text: str) -> str:
            return mask_urls(text if masks is None else _masked(text, masks), known)

        return masked

    def mask_data(self, value: Any) -> Any:
        """`value`, data a call gave back that the rules may read (an observer's facts, an
        output kept in the state), masked: of the secrets this call uses, as `mask`; of
        those only named elsewhere (`named`), the ones of `SHORTEST_ELSEWHERE` characters
        or more, in its text, and as a number when all digits (an account number echoed as
        a JSON number). Text (an error, what a process printed) takes `mask`."""
        elsewhere = self.known() - self.values
        long = [s for s in elsewhere if len(s.strip()) >= SHORTEST_ELSEWHERE]
        numeric = [s for s in long if s.strip().isdigit()]
        return mask_all(value, [*self.values, *numeric], long)

    def excerpt(self, text: str, *, whole: bool) -> str:
        """`text` masked (`mask`), for a message to quote its start; when `text` is the
        start of something longer (`whole` False), without the end that may be the start
        of a secret (cut in two, it is masked no more): from the first place where what is
        left is how a form of one begins. (Cut by as many characters as the longest form,
        a private key among the credentials left nothing of a 4 KB reply.)"""
        masked: str = self.mask(text)
        if whole:
            return masked
        # (a character cut in two is decoded as U+FFFD, which begins no form: dropped; and
        # read with its escapes in upper case, as `forms` writes them, `%2f` begins one too)
        masked = masked.rstrip("\ufffd")
        read = _ESCAPE.sub(lambda m: m.group(0).upper(), masked)
        return masked[: _unfinished(read, {f for s in self.known() if s for f in forms(s)})]

    def longest(self) -> int:
        """The length of the longest form (`forms`) of a secret masked: what a text cut in
        two may hold of one on either side of the cut."""
        return max((len(f) for s in self.known() if s for f in forms(s)), default=0)

    def _lookup(self, match: re.Match[str]) -> str:
        name = match.group(1)
        why = lacking(name, self.environ)
        if why is not None:
            raise ExecutionError(f"environment variable {name} is {why} (named as ${{env:{name}}})")
        secret = self.environ[name]
        self.values.add(secret)
        return secret
