"""The hidden reference: Python implementations of every leaf function the generator's programs call.
The trained models never see this file (only the function names in the programs); the generator uses
it to compute the emulated output dictionaries, and the sandbox loads its source to execute programs
(generated or sampled) for real. Self-contained: no imports, so its source runs in the sandbox."""

FLIP_VERBS = ("flips", "turns", "tosses")
STAY_VERBS = ("holds", "skips", "keeps")
LEXICON = {
    "glad": "joy", "happy": "joy", "cheerful": "joy", "delighted": "joy", "merry": "joy", "proud": "joy",
    "angry": "anger", "furious": "anger", "mad": "anger", "annoyed": "anger", "bitter": "anger", "cross": "anger",
    "sad": "sadness", "gloomy": "sadness", "lonely": "sadness", "tearful": "sadness", "hurt": "sadness", "down": "sadness",
    "afraid": "fear", "scared": "fear", "nervous": "fear", "worried": "fear", "tense": "fear", "shaky": "fear",
}
POS = {
    "the": "det", "a": "det", "every": "det", "some": "det",
    "dog": "noun", "cat": "noun", "child": "noun", "teacher": "noun", "bird": "noun", "farmer": "noun", "baker": "noun", "horse": "noun",
    "sees": "verb", "likes": "verb", "chases": "verb", "helps": "verb", "finds": "verb", "meets": "verb",
}
VALID_ORDER = ["det", "noun", "verb", "det", "noun"]
NEEDS = {"hungry": "food", "sick": "health", "lost": "directions", "thirsty": "drink", "sad": "comfort", "cold": "warmth"}
HELPERS = {"food": "chef", "health": "doctor", "directions": "guide", "drink": "waiter", "comfort": "friend", "warmth": "tailor"}


def list_actions(story):
    out = []
    for part in story.split("."):
        words = part.split()
        if len(words) >= 2:
            out.append("flip" if words[1] in FLIP_VERBS else "stay")
    return out


def count_flips(actions):
    return sum(1 for a in actions if a == "flip")


def even_to_yes(n):
    return "yes" if n % 2 == 0 else "no"


def split_digits(number):
    return [int(c) for c in str(number)]


def running_sums(digits):
    out, t = [], 0
    for d in digits:
        t += d
        out.append(t)
    return out


def split_words(text):
    return text.split()


def first_letters(words):
    return [w[0] for w in words]


def last_letters(words):
    return [w[-1] for w in words]


def sort_by_letters(words, letters):
    return " ".join(w for _, w in sorted(zip(letters, words)))


def feeling_words(sentence):
    return [w for w in sentence.split() if w in LEXICON]


def word_emotions(words):
    return [LEXICON[w] for w in words]


def most_common(items):
    best, count = None, -1
    for x in items:
        c = items.count(x)
        if c > count:
            best, count = x, c
    return best


def tag_words(sentence):
    return [POS.get(w, "other") for w in sentence.split()]


def check_order(tags):
    return "yes" if tags == VALID_ORDER else "no"


def check_start(tags):
    return "yes" if tags[:1] == ["det"] else "no"


def identify_need(question):
    for word in question.replace(".", " ").split():
        if word in NEEDS:
            return NEEDS[word]
    return "none"


def helper_for(need):
    return HELPERS.get(need, "none")


def option_letter(helper, question):
    opts = [p.split(")")[1].strip() for p in question.split("(")[1:]]
    return "abc"[opts.index(helper)] if helper in opts else "none"
