"""Project-written prompt material for the LM probe and its conjugate transforms.

No translation service: English sentences and instructions are written here; French, Spanish
and German versions are hand-written parallel templates (sentence i of every language says the
same thing); Pig Latin and Leetspeak are rule-based functions of the English text, with
inverses (used by the tests to show the transforms lose nothing on the probe's text)."""

from __future__ import annotations

import re

SENTENCES = {
    "en": [
        "The cat sleeps on the warm chair.",
        "My brother likes green apples.",
        "The train leaves at nine.",
        "We walked along the river.",
        "She reads a book every night.",
        "The garden is full of flowers.",
        "It rained all day yesterday.",
        "The children play in the park.",
        "He drinks coffee without sugar.",
        "Our house has a red door.",
        "The dog runs after the ball.",
        "I forgot my keys at home.",
        "The shop opens early today.",
        "They sing songs by the fire.",
        "The bread is still hot.",
        "Birds fly south in winter.",
        "The old man feeds the birds.",
        "Please close the window.",
        "The teacher writes on the board.",
        "My sister paints the sky.",
    ],
    "fr": [
        "Le chat dort sur la chaise chaude.",
        "Mon frère aime les pommes vertes.",
        "Le train part à neuf heures.",
        "Nous avons marché le long de la rivière.",
        "Elle lit un livre chaque soir.",
        "Le jardin est plein de fleurs.",
        "Il a plu toute la journée hier.",
        "Les enfants jouent dans le parc.",
        "Il boit du café sans sucre.",
        "Notre maison a une porte rouge.",
        "Le chien court après la balle.",
        "J'ai oublié mes clés à la maison.",
        "Le magasin ouvre tôt aujourd'hui.",
        "Ils chantent des chansons près du feu.",
        "Le pain est encore chaud.",
        "Les oiseaux volent vers le sud en hiver.",
        "Le vieil homme nourrit les oiseaux.",
        "Fermez la fenêtre, s'il vous plaît.",
        "Le professeur écrit au tableau.",
        "Ma sœur peint le ciel.",
    ],
    "es": [
        "El gato duerme en la silla caliente.",
        "A mi hermano le gustan las manzanas verdes.",
        "El tren sale a las nueve.",
        "Caminamos a lo largo del río.",
        "Ella lee un libro cada noche.",
        "El jardín está lleno de flores.",
        "Ayer llovió todo el día.",
        "Los niños juegan en el parque.",
        "Él bebe café sin azúcar.",
        "Nuestra casa tiene una puerta roja.",
        "El perro corre detrás de la pelota.",
        "Olvidé mis llaves en casa.",
        "La tienda abre temprano hoy.",
        "Ellos cantan canciones junto al fuego.",
        "El pan todavía está caliente.",
        "Los pájaros vuelan al sur en invierno.",
        "El anciano da de comer a los pájaros.",
        "Por favor, cierra la ventana.",
        "El profesor escribe en la pizarra.",
        "Mi hermana pinta el cielo.",
    ],
    "de": [
        "Die Katze schläft auf dem warmen Stuhl.",
        "Mein Bruder mag grüne Äpfel.",
        "Der Zug fährt um neun Uhr ab.",
        "Wir gingen am Fluss entlang.",
        "Sie liest jeden Abend ein Buch.",
        "Der Garten ist voller Blumen.",
        "Gestern hat es den ganzen Tag geregnet.",
        "Die Kinder spielen im Park.",
        "Er trinkt Kaffee ohne Zucker.",
        "Unser Haus hat eine rote Tür.",
        "Der Hund rennt dem Ball hinterher.",
        "Ich habe meine Schlüssel zu Hause vergessen.",
        "Der Laden öffnet heute früh.",
        "Sie singen Lieder am Feuer.",
        "Das Brot ist noch warm.",
        "Vögel fliegen im Winter nach Süden.",
        "Der alte Mann füttert die Vögel.",
        "Bitte schließe das Fenster.",
        "Der Lehrer schreibt an die Tafel.",
        "Meine Schwester malt den Himmel.",
    ],
}

# Instruction for the ICL task, the Input/Output prefixes, and the instruction-like query.
TEMPLATES = {
    "en": {"repeat": "Repeat the input.", "capitalize": "Capitalize every character.", "input": "Input:", "output": "Output:", "math": "What is {a} plus {b}?"},
    "fr": {"repeat": "Répétez l'entrée.", "capitalize": "Mettez chaque caractère en majuscule.", "input": "Entrée :", "output": "Sortie :", "math": "Combien font {a} plus {b} ?"},
    "es": {"repeat": "Repite la entrada.", "capitalize": "Escribe cada carácter en mayúscula.", "input": "Entrada:", "output": "Salida:", "math": "¿Cuánto es {a} más {b}?"},
    "de": {"repeat": "Wiederhole die Eingabe.", "capitalize": "Schreibe jedes Zeichen groß.", "input": "Eingabe:", "output": "Ausgabe:", "math": "Was ist {a} plus {b}?"},
}

LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "de": "German", "pl": "Pig Latin", "ls": "Leetspeak"}

# ---------------------------------------------------------------- Pig Latin
_VOWELS = "aeiouAEIOU"
_WORD = re.compile(r"[A-Za-z]+")


def _pig_word(w: str) -> str:
    if w[0] in _VOWELS:
        out = w + "way"
    else:
        i = 0
        while i < len(w) and w[i] not in _VOWELS and not (i > 0 and w[i] in "yY"):
            i += 1
        out = w[i:] + w[:i] + "ay"
    if w.isupper() and len(w) > 1:
        return out.upper()
    if w[0].isupper():
        return out[0].upper() + out[1:].lower()
    return out.lower()


def to_pig_latin(text: str) -> str:
    """Rule-based Pig Latin: a word starting with a vowel gets 'way'; otherwise its leading
    consonant cluster moves to the end, followed by 'ay'. Case pattern and punctuation kept."""
    return _WORD.sub(lambda m: _pig_word(m.group(0)), text)


def _unpig_candidates(w: str) -> list[str]:
    lw = w.lower()
    cands = []
    if lw.endswith("way"):
        cands.append(lw[:-3])  # vowel-initial word
    if lw.endswith("ay"):
        core = lw[:-2]
        for i in range(1, len(core)):
            cands.append(core[-i:] + core[:-i])  # move i trailing consonants back to the front
    return [c for c in cands if c]


def from_pig_latin(text: str, vocab: set[str]) -> str:
    """Inverse of `to_pig_latin` on a known vocabulary (Pig Latin is not injective on all
    strings: 'isway' is 'is' or 'wis'); each word becomes the candidate whose Pig Latin is the
    word and that is in `vocab` (lower case)."""

    def un(m):
        w = m.group(0)
        for c in _unpig_candidates(w):
            if c in vocab and _pig_word(c) == w.lower():
                if w.isupper() and len(w) > 1:
                    return c.upper()
                return c[0].upper() + c[1:] if w[0].isupper() else c
        raise ValueError(f"no inverse for Pig Latin word '{w}' in the vocabulary")

    return _WORD.sub(un, text)


# ---------------------------------------------------------------- Leetspeak
_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "+"}
_UNLEET = {v: k for k, v in _LEET.items()}
_TOKEN = re.compile(r"[A-Za-z0-9$+@]+")


def to_leetspeak(text: str) -> str:
    """Rule-based Leetspeak: lower-case a e i o s t become @ 3 1 0 $ + inside words that have a
    letter; upper-case letters and numbers (words made only of digits) are kept. ('a' -> '@', 's' -> '$'
    and 't' -> '+' rather than 4, 5 and 7 so that no English word turns into a number, e.g.
    'is' -> '1$', which keeps the transform invertible next to the probe's numbers.)"""

    def tr(m):
        w = m.group(0)
        if w.isdigit():
            return w
        return "".join(_LEET.get(ch, ch) for ch in w)

    return _TOKEN.sub(tr, text)


def from_leetspeak(text: str) -> str:
    """Inverse of `to_leetspeak` for text whose words contain no digits (numbers are kept)."""

    def un(m):
        w = m.group(0)
        if w.isdigit():
            return w
        return "".join(_UNLEET.get(ch, ch) for ch in w)

    return _TOKEN.sub(un, text)


TRANSFORMS = {"pl": to_pig_latin, "ls": to_leetspeak}


def english_vocab() -> set[str]:
    words = set()
    for t in SENTENCES["en"] + list(TEMPLATES["en"].values()):
        words.update(w.lower() for w in _WORD.findall(t))
    return words


def material(lang: str) -> tuple[list[str], dict]:
    """Sentences and templates of a language: the hand-written ones, or the English ones put
    through a rule-based transform (Pig Latin 'pl', Leetspeak 'ls')."""
    if lang in SENTENCES:
        return SENTENCES[lang], TEMPLATES[lang]
    f = TRANSFORMS[lang]
    tpl = {k: f(v.replace("{a}", "1111").replace("{b}", "2222")).replace("1111", "{a}").replace("2222", "{b}") for k, v in TEMPLATES["en"].items()}
    return [f(s) for s in SENTENCES["en"]], tpl
