#!/usr/bin/env python3
"""Generates a reproducible synthetic MARCXML corpus for acadex's benchmarks.

Python 3 standard library only. The records are shaped from the real MARCXML fixtures in
fixtures/valid/marcxml/*.xml: their leaders, 008 layout, indicators, boilerplate fields
(040, 336/337/338), title and subject vocabulary, subject subdivisions, personal names,
publishers, places and meeting names are read with xml.etree and reused as templates. The
100 real records of fixtures/valid/oai_marc/ add German and French title words and subjects.
A small, fixed supplement (academic-exchange topics, institutions in several countries,
Chinese title words with their pinyin) fills what a handful of fixtures cannot give.

Everything is drawn from one random.Random(seed), so the same N and seed always give the same
bytes (the manifest records their sha256).

Outputs, in OUT_DIR:
  records.xml      one <collection xmlns="http://www.loc.gov/MARC21/slim">, one record a line
  records.xml.gz   the same bytes, gzip (mtime 0, so reproducible too)
  records.jsonl    the same records for tantivy-cli / SQLite FTS5:
                   {"title", "author", "subject", "abstract", "year"}
  manifest.json    counts, sizes, sha256, distinct subjects, shares of Chinese records and meetings

Usage: gen_corpus.py --records N --out DIR [--seed 20240601] [--fixtures fixtures/valid]
"""

import argparse
import bisect
import glob
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
import xml.etree.ElementTree as ET

GENERATOR_VERSION = 3
MARC_NS = "http://www.loc.gov/MARC21/slim"


# ---------------------------------------------------------------------------------------------
# Reading the fixtures


def strip_ns(tag):
    return tag.rsplit("}", 1)[-1]


def parse_records(path):
    """MARC <record> elements of a file. Files that are not well-formed XML as a whole (SRU
    responses with an undeclared zs: prefix, a truncated end tag) are read record by record."""
    try:
        root = ET.parse(path).getroot()
        found = [e for e in root.iter() if strip_ns(e.tag) == "record" and any(strip_ns(c.tag) == "leader" for c in e)]
        if found:
            return found
    except ET.ParseError:
        pass
    text = open(path, encoding="utf-8").read()
    records = []
    for m in re.finditer(r"<((?:\w+:)?)record\b[^>]*>.*?</\1record>", text, re.S):
        fragment = re.sub(r"<(/?)(?:marc:)", r"<\1", m.group(0))
        fragment = re.sub(r"^<record\b[^>]*>", f'<record xmlns="{MARC_NS}">', fragment)
        try:
            element = ET.fromstring(fragment)
        except ET.ParseError:
            continue
        if any(strip_ns(c.tag) == "leader" for c in element):
            records.append(element)
    return records


def read_record(element):
    """(leader, [(tag, value)], [(tag, ind1, ind2, [(code, value)])])."""
    leader, control, data = "", [], []
    for child in element:
        name = strip_ns(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            control.append((child.get("tag"), child.text or ""))
        elif name == "datafield":
            subs = [(s.get("code"), s.text or "") for s in child if strip_ns(s.tag) == "subfield"]
            data.append((child.get("tag"), child.get("ind1", " "), child.get("ind2", " "), subs))
    return leader, control, data


def clean(value):
    value = value.strip().rstrip(" /:;,.=-").strip()
    return re.sub(r"\s+", " ", value)


WORD = re.compile(r"[A-Za-zÀ-ÿĀ-ſ][A-Za-zÀ-ÿĀ-ſ'\-]{2,}")
STOP = set(
    "the and for with from into that this von der die das des und fur für les une des pour dans par sur aux "
    "among between within over under their its his her our".split()
)


class Templates:
    """Everything taken from the real records."""

    def __init__(self, fixtures):
        self.files = []
        self.leaders = []
        self.f008 = []
        self.title_words = []
        self.foreign_title_words = []
        self.topics = []
        self.subdivisions = []
        self.geographic = []
        self.names = []
        self.publishers = []
        self.places = []
        self.meetings = []
        self.boilerplate = {}
        self.indicators = {}
        self.relators = []
        primary = sorted(glob.glob(os.path.join(fixtures, "marcxml", "*.xml")))
        extra = sorted(glob.glob(os.path.join(fixtures, "oai_marc", "*.xml")))
        if not primary:
            sys.exit(f"gen_corpus: no MARCXML fixtures under {fixtures}/marcxml")
        for path in primary:
            records = parse_records(path)
            self.files.append((os.path.basename(path), len(records)))
            for element in records:
                self.take(read_record(element), foreign=False)
        for path in extra:
            records = parse_records(path)
            self.files.append((os.path.basename(path), len(records)))
            for element in records:
                self.take(read_record(element), foreign=True)
        for name in ("title_words", "foreign_title_words", "topics", "subdivisions", "geographic", "names",
                     "publishers", "places", "meetings", "relators"):
            setattr(self, name, sorted(set(getattr(self, name))))
        self.leaders = sorted(set(self.leaders))

    def take(self, record, foreign):
        leader, control, data = record
        if len(leader) == 24:
            self.leaders.append(leader)
        for tag, value in control:
            if tag == "008" and len(value) == 40:
                self.f008.append(value)
        for tag, ind1, ind2, subs in data:
            self.indicators.setdefault(tag, (ind1, ind2))
            values = {}
            for code, value in subs:
                values.setdefault(code, []).append(value)
            if tag in ("040", "336", "337", "338") and not foreign:
                self.boilerplate.setdefault(tag, []).append((ind1, ind2, subs))
            if tag in ("245", "246"):
                for code in "ab":
                    for value in values.get(code, []):
                        words = [w for w in WORD.findall(value) if w.lower() not in STOP]
                        (self.foreign_title_words if foreign else self.title_words).extend(w.lower() for w in words)
            if tag in ("650", "651", "600", "610", "653", "690"):
                for value in values.get("a", [])[:1]:
                    heading = clean(value)
                    if 2 < len(heading) < 60 and not heading.startswith("("):
                        (self.geographic if tag == "651" else self.topics).append(heading)
                        if not foreign and tag in ("650", "651"):
                            self.title_words.extend(w.lower() for w in WORD.findall(heading) if w.lower() not in STOP)
                for code in "xvy":
                    self.subdivisions.extend(clean(v) for v in values.get(code, []) if clean(v))
            if tag in ("100", "700", "600"):
                for value in values.get("a", []):
                    name = clean(value)
                    if re.fullmatch(r"[^\W\d][\w'-]+(?: [\w'-]+)?, [^\W\d][\w'. -]+", name):
                        self.names.append(name)
                for code in "e4":
                    self.relators.extend(clean(v) for v in values.get(code, []) if clean(v))
            if tag in ("260", "264"):
                self.publishers.extend(clean(v) for v in values.get("b", []) if clean(v))
                self.places.extend(clean(v) for v in values.get("a", []) if clean(v))
            if tag in ("111", "711"):
                self.meetings.extend(clean(v) for v in values.get("a", []) if clean(v))


# ---------------------------------------------------------------------------------------------
# The supplement: what a few fixtures cannot give

EXCHANGE_WORDS = (
    "panda giant bamboo habitat conservation ecology wildlife reserve population behaviour genetics "
    "exchange exchanges international cooperation scholars visiting university universities lecture lectures "
    "conference symposium education policy economy economic culture cultural history historical society social "
    "environment environmental climate urban rural migration language languages literature translation "
    "comparative modern traditional reform development science technology engineering mechanics materials "
    "health medicine law rights trade network data analysis evidence methods theory practice archives museum "
    "heritage philosophy religion music art architecture agriculture water energy governance diplomacy "
    "relations perspectives studies research survey review approach case regional global local dialogue"
).split()

PLACES_EN = "China Japan Germany France Sichuan Beijing Shanghai Asia Europe Tibet Yunnan Taiwan Korea Africa America".split()

TOPICS = [
    "Giant panda", "Bamboo", "Wildlife conservation", "Endangered species", "Educational exchanges",
    "Academic exchanges", "Exchange of persons programs", "Universities and colleges", "Climate change",
    "Economic development", "Cultural relations", "International cooperation", "Higher education",
    "Comparative literature", "Translating and interpreting", "Chinese language", "Japanese language",
    "German language", "French language", "Sinologists", "Foreign study", "Scholars", "Intellectual life",
    "Ecology", "Biodiversity", "Forest management", "Urbanization", "Rural development", "Migration, Internal",
    "Public health", "Medicine, Chinese", "Human rights", "International trade", "Diplomatic relations",
    "Museums", "Cultural property", "Philosophy, Chinese", "Buddhism", "Confucianism", "Music", "Architecture",
    "Agriculture", "Water resources development", "Energy policy", "Environmental policy", "Science and state",
    "Technology transfer", "Engineering", "Mechanics, Applied", "Materials science", "Data mining",
    "Economic history", "Social history", "Women", "Youth", "Minorities", "Tea", "Silk Road", "Calligraphy",
]

SUBDIVISIONS = [
    "History", "Research", "Congresses", "Study and teaching", "International cooperation", "Economic aspects",
    "Political aspects", "Social aspects", "Environmental aspects", "Statistics", "Case studies",
    "Law and legislation", "Government policy", "Biography", "Periodicals", "Bibliography", "Foreign countries",
]

GEOGRAPHIC = [
    "China", "Japan", "Germany", "France", "United States", "Great Britain", "Europe", "Asia", "Korea (South)",
    "Taiwan", "Hong Kong (China)", "China -- Sichuan Sheng", "China -- Beijing", "China -- Shanghai",
    "Tibet Autonomous Region (China)", "Yunnan Sheng (China)", "Switzerland", "Netherlands", "Canada",
]

PERIODS = ["20th century", "21st century", "1949-1976", "1976-2002", "Early works to 1800", "19th century"]

# (institution, city, country as written in affiliations); country code for 008/15-17.
INSTITUTIONS = [
    ("Peking University", "Beijing, China", "cc "), ("Sichuan University", "Chengdu, China", "cc "),
    ("Institute of Zoology, Chinese Academy of Sciences", "Beijing, China", "cc "),
    ("Fudan University", "Shanghai, China", "cc "), ("Zhejiang University", "Hangzhou, China", "cc "),
    ("Nanjing University", "Nanjing, China", "cc "), ("Wuhan University", "Wuhan, China", "cc "),
    ("China West Normal University", "Nanchong, China", "cc "), ("Tsinghua University", "Beijing, China", "cc "),
    ("National Taiwan University", "Taipei, Taiwan", "ch "), ("University of Hong Kong", "Hong Kong, China", "cc "),
    ("Universität Heidelberg", "Heidelberg, Germany", "gw "), ("Humboldt-Universität zu Berlin", "Berlin, Germany", "gw "),
    ("Max Planck Institute for Evolutionary Anthropology", "Leipzig, Germany", "gw "),
    ("Ludwig-Maximilians-Universität München", "Munich, Germany", "gw "),
    ("Université Paris Cité", "Paris, France", "fr "), ("Université de Strasbourg", "Strasbourg, France", "fr "),
    ("CNRS", "Lyon, France", "fr "), ("École normale supérieure", "Paris, France", "fr "),
    ("Kyoto University", "Kyoto, Japan", "ja "), ("University of Tokyo", "Tokyo, Japan", "ja "),
    ("Waseda University", "Tokyo, Japan", "ja "),
    ("Stanford University", "Stanford, CA, USA", "cau"), ("University of Michigan", "Ann Arbor, MI, USA", "miu"),
    ("Smithsonian Conservation Biology Institute", "Front Royal, VA, USA", "vau"),
    ("Harvard University", "Cambridge, MA, USA", "mau"),
    ("University of Oxford", "Oxford, United Kingdom", "enk"), ("University of Edinburgh", "Edinburgh, UK", "stk"),
    ("SOAS University of London", "London, United Kingdom", "enk"),
    ("University of Toronto", "Toronto, Canada", "onc"), ("Australian National University", "Canberra, Australia", "aca"),
    ("Seoul National University", "Seoul, Republic of Korea", "ko "), ("Universiteit Leiden", "Leiden, Netherlands", "ne "),
    ("ETH Zürich", "Zürich, Switzerland", "sz "), ("Universitat de Barcelona", "Barcelona, Spain", "sp "),
    ("Indian Institute of Science", "Bangalore, India", "ii "), ("Universidade de São Paulo", "São Paulo, Brazil", "bl "),
]

DEPARTMENTS = [
    "Department of History", "School of Life Sciences", "Department of Ecology", "Institute of Sinology",
    "Faculty of Education", "Department of Economics", "School of Foreign Languages", "Department of Sociology",
    "Centre for East Asian Studies", "Department of Mechanical Engineering", "Key Laboratory of Animal Ecology",
    "Department of Philosophy", "School of Law", "Department of Geography", "Institute of Anthropology",
]

# family -> (given names), per culture; Chinese names carry their hanzi for 880 fields.
CN_FAMILY = [("Wu", "吴"), ("Li", "李"), ("Wang", "王"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"),
             ("Yang", "杨"), ("Zhao", "赵"), ("Huang", "黄"), ("Zhou", "周"), ("Xu", "徐"), ("Sun", "孙"),
             ("Ma", "马"), ("Zhu", "朱"), ("Hu", "胡"), ("Guo", "郭"), ("He", "何"), ("Lin", "林"), ("Luo", "罗"),
             ("Gao", "高"), ("Wei", "魏"), ("Ye", "葉")]
CN_GIVEN = [("Yongsheng", "永胜"), ("Ming", "明"), ("Xiaohong", "晓红"), ("Wei", "伟"), ("Jianguo", "建国"),
            ("Li", "丽"), ("Hua", "华"), ("Fang", "芳"), ("Jing", "静"), ("Lei", "磊"), ("Tao", "涛"), ("Yan", "燕"),
            ("Hong", "红"), ("Bo", "波"), ("Qiang", "强"), ("Fuwen", "富文"), ("Zhi", "志"), ("Hanao", "漢鰲"),
            ("Xiaoling", "晓玲"), ("Dongmei", "冬梅")]
OTHER_NAMES = {
    "ger": ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz Scharnhorst Krünitz".split(),
            "Anna Lukas Katharina Jonas Sophie Felix Johann Gerhard Ernst Maria".split()),
    "fre": ("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Susane Girard".split(),
            "Marie Jean Pierre Claire Louis Camille Prosper Hélène Luc Amélie".split()),
    "jpn": ("Tanaka Suzuki Takahashi Watanabe Itō Yamamoto Nakamura Hayashiya Yokoi Narabayashi".split(),
            "Hiroshi Yuki Kiyoshi Tadao Haruka Kenji Akiko Tatsusaburō Naoko Takeshi".split()),
    "eng": ("Smith Johnson Brown Adams Blake Lloyd Taylor Clark Lewis Walker Hall Young".split(),
            "Frank Emma James Olivia Carl Henry Grace Michael Ruth David".split()),
}

HANZI_WORDS = [
    ("大熊猫", "da xiong mao"), ("熊猫", "xiong mao"), ("中国", "Zhongguo"), ("文化", "wen hua"),
    ("生态", "sheng tai"), ("保护", "bao hu"), ("历史", "li shi"), ("经济", "jing ji"), ("社会", "she hui"),
    ("教育", "jiao yu"), ("国际", "guo ji"), ("交流", "jiao liu"), ("学术", "xue shu"), ("合作", "he zuo"),
    ("发展", "fa zhan"), ("环境", "huan jing"), ("四川", "Sichuan"), ("北京", "Beijing"), ("文学", "wen xue"),
    ("语言", "yu yan"), ("政策", "zheng ce"), ("城市", "cheng shi"), ("科学", "ke xue"), ("技术", "ji shu"),
    ("比较", "bi jiao"), ("现代", "xian dai"), ("传统", "chuan tong"), ("思想", "si xiang"), ("艺术", "yi shu"),
    ("哲学", "zhe xue"), ("民俗", "min su"), ("气候", "qi hou"), ("变化", "bian hua"), ("农村", "nong cun"),
    ("管理", "guan li"), ("改革", "gai ge"), ("日本", "Riben"), ("德国", "Deguo"), ("法国", "Faguo"),
]
HANZI_ENDINGS = [("研究", "yan jiu"), ("概论", "gai lun"), ("调查报告", "diao cha bao gao"), ("论文集", "lun wen ji"),
                 ("史", "shi"), ("与实践", "yu shi jian")]

JAPANESE_WORDS = "Nihon no bunka kenkyū rekishi shakai kyōiku keizai kokusai kōryū shisō bungaku chasho".split()

PUBLISHERS = [("Springer", "Berlin"), ("Elsevier", "Amsterdam"), ("Science Press", "Beijing"),
              ("Peking University Press", "Beijing"), ("Sichuan University Press", "Chengdu"),
              ("Harrassowitz", "Wiesbaden"), ("Presses universitaires de France", "Paris"),
              ("Iwanami Shoten", "Tōkyō"), ("Cambridge University Press", "Cambridge"), ("Brill", "Leiden"),
              ("Routledge", "London"), ("University of Chicago Press", "Chicago")]

MEETING_KINDS = ["International Conference on", "International Congress on", "Symposium on", "Workshop on",
                 "Sino-European Forum on", "International Symposium on"]
MEETING_PLACES = ["Chengdu, China", "Beijing, China", "Heidelberg, Germany", "Paris, France", "Kyoto, Japan",
                  "Portland, Or.", "Edinburgh, Scotland", "Leiden, Netherlands", "Taipei, Taiwan", "Toronto, Canada"]

LANGS = [("eng", 50), ("chi", 20), ("ger", 12), ("fre", 10), ("jpn", 8)]
LANG_COUNTRY = {"eng": ["xxu", "enk", "cau", "at ", "onc"], "chi": ["cc ", "ch "], "ger": ["gw ", "sz "],
                "fre": ["fr "], "jpn": ["ja "]}

AGENCIES = ["OCoLC", "DE-604", "DLC", "CaOONL", "FrPBN", "JTNDL", "CN-BjNLC"]


# ---------------------------------------------------------------------------------------------
# Generation


def esc(text):
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def zipf_weights(n, s=1.0):
    return [1.0 / (rank + 1) ** s for rank in range(n)]


class Generator:
    def __init__(self, templates, seed):
        t = templates
        self.rng = random.Random(seed)
        rng = self.rng
        # Vocabulary: fixture words first (shuffled so Zipf ranks do not follow the alphabet), then the supplement.
        words = list(dict.fromkeys(t.title_words + EXCHANGE_WORDS))
        rng.shuffle(words)
        self.words = words
        self.word_cum = self.cumulative(zipf_weights(len(words), 0.6))
        foreign = list(dict.fromkeys(t.foreign_title_words)) or words
        rng.shuffle(foreign)
        self.foreign = foreign
        self.foreign_cum = self.cumulative(zipf_weights(len(foreign), 0.6))
        topics = list(dict.fromkeys(t.topics + TOPICS))
        rng.shuffle(topics)
        self.topics = topics
        self.topic_cum = self.cumulative(zipf_weights(len(topics), 0.8))
        self.subdivisions = list(dict.fromkeys(t.subdivisions + SUBDIVISIONS))
        self.geographic = list(dict.fromkeys(t.geographic + GEOGRAPHIC))
        self.fixture_names = t.names
        self.meeting_names = t.meetings
        self.publishers = PUBLISHERS + [(p, pl) for p, pl in zip(t.publishers, t.places)]
        self.boilerplate = t.boilerplate
        book_leaders = [l for l in t.leaders if l[6:8] == "am"] or ["01685cam a2200421Ia 4500"]
        self.book_leader = book_leaders[0]
        self.f008_middle = [f[18:35] for f in t.f008 if f[24:28].strip(" |0") in ("", "b")] or ["a     b    000 0 "]
        # Journals and series: a few hundred, each with a fixed ISSN.
        self.journals = []
        for i in range(400):
            w1, w2 = self.word().capitalize(), self.word().capitalize()
            pattern = self.choice(["Journal of {a} {b}", "{a} and {b} Review", "Acta {a}", "Studies in {a} {b}",
                                  "Zeitschrift für {a}", "Revue de {a}", "{a} Quarterly", "Asian {a} Studies"])
            issn = f"{rng.randrange(1000, 10000)}-{rng.randrange(100, 1000)}{self.choice('0123456789X')}"
            self.journals.append((pattern.format(a=w1, b=w2), issn))
        self.journal_cum = self.cumulative(zipf_weights(len(self.journals), 0.7))
        self.meetings = []
        for i in range(300):
            base = self.choice(self.meeting_names) if self.meeting_names and rng.random() < 0.15 else None
            name = base or f"{self.choice(MEETING_KINDS)} {self.topic()}"
            self.meetings.append((name, self.choice(MEETING_PLACES)))

    @staticmethod
    def cumulative(weights):
        total, out = 0.0, []
        for w in weights:
            total += w
            out.append(total)
        return out

    def pick(self, items, cum):
        return items[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def choice(self, items):
        return items[int(self.rng.random() * len(items))]

    def randint(self, low, high):
        return low + int(self.rng.random() * (high - low + 1))

    def word(self):
        return self.pick(self.words, self.word_cum)

    def topic(self):
        return self.pick(self.topics, self.topic_cum)

    def phrase(self, n, foreign=False):
        out = []
        while len(out) < n:
            word = self.pick(self.foreign, self.foreign_cum) if foreign else self.word()
            if not out or word != out[-1]:
                out.append(word)
        return " ".join(out)

    def english_title(self):
        rng = self.rng
        form = rng.random()
        if form < 0.3:
            return f"{self.phrase(self.randint(2, 4)).capitalize()} in {self.choice(PLACES_EN)}"
        if form < 0.5:
            return f"{self.phrase(self.randint(1, 3)).capitalize()} and {self.phrase(self.randint(1, 3))}"
        if form < 0.65:
            return f"Studies on the {self.phrase(self.randint(2, 3))} of {self.choice(PLACES_EN)}"
        return self.phrase(self.randint(3, 7)).capitalize()

    def chinese_title(self):
        rng = self.rng
        parts = []
        if rng.random() < 0.3:
            parts.append(("中国", "Zhongguo"))
            if rng.random() < 0.5:
                parts.append(("文化", "wen hua"))
        elif rng.random() < 0.3:
            parts.append(("大熊猫", "da xiong mao"))
        for _ in range(self.randint(1, 3)):
            word = self.choice(HANZI_WORDS)
            if all(word[0] not in h and h not in word[0] for h, _ in parts):
                parts.append(word)
        parts.append(self.choice(HANZI_ENDINGS))
        hanzi = "".join(h for h, _ in parts)
        pinyin = " ".join(p for _, p in parts)
        return hanzi, pinyin[0].upper() + pinyin[1:]

    def person(self, lang):
        """(MARC name 'Family, Given', hanzi name or None, culture)."""
        rng = self.rng
        culture = lang if rng.random() < 0.7 else self.choice(["eng", "chi", "ger", "fre", "jpn"])
        if culture == "chi":
            (fam, fam_h), (giv, giv_h) = self.choice(CN_FAMILY), self.choice(CN_GIVEN)
            return f"{fam}, {giv}", fam_h + giv_h
        if rng.random() < 0.05 and self.fixture_names:
            return self.choice(self.fixture_names), None
        families, givens = OTHER_NAMES.get(culture, OTHER_NAMES["eng"])
        initial = f" {self.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.3 else ""
        return f"{self.choice(families)}, {self.choice(givens)}{initial}", None

    def affiliation(self, culture_country=None):
        rng = self.rng
        inst, city, _ = self.choice(INSTITUTIONS)
        if rng.random() < 0.5:
            return f"{self.choice(DEPARTMENTS)}, {inst}, {city}"
        return f"{inst}, {city}"

    def subject(self):
        rng = self.rng
        heading = [("a", self.topic())]
        if rng.random() < 0.55:
            heading.append(("x", self.choice(self.subdivisions)))
        if rng.random() < 0.45:
            heading.append(("z", self.choice(self.geographic)))
        if rng.random() < 0.25:
            heading.append(("y", self.choice(PERIODS)))
        return heading

    def abstract(self, sentences):
        rng = self.rng
        out = []
        for _ in range(sentences):
            opener = self.choice(["This study examines", "We report", "The paper discusses", "Based on",
                                 "The authors compare", "This volume collects", "We analyse", "Drawing on"])
            out.append(f"{opener} {self.phrase(self.randint(4, 8))} in {self.choice(PLACES_EN)}.")
        return " ".join(out)

    def record(self, n):
        """One record: (xml line, json dict, stats dict)."""
        rng = self.rng
        fields = []  # (tag, ind1, ind2, [(code, value)])
        lang = rng.choices([l for l, _ in LANGS], weights=[w for _, w in LANGS])[0]
        year = self.randint(1950, 2024)
        kind = rng.random()
        meeting = rng.random() < 0.10
        if meeting:
            kind_name, level = "paper", "a"
        elif kind < 0.55:
            kind_name, level = "book", "m"
        elif kind < 0.92:
            kind_name, level = "article", "a"
        else:
            kind_name, level = "thesis", "m"
        leader = f"{self.book_leader[:5]}n{'a'}{level}{self.book_leader[8:]}"
        chinese = lang == "chi"
        link = 0

        def next_link():
            nonlocal link
            link += 1
            return f"{link:02d}"

        country = self.choice(LANG_COUNTRY[lang])
        middle = self.choice(self.f008_middle)
        if kind_name == "thesis":
            middle = middle[:6] + "m   " + middle[10:]
        entered = f"{(year + self.randint(0, 3)) % 100:02d}{self.randint(1, 12):02d}{self.randint(1, 28):02d}"
        f008 = f"{entered}s{year}    {country}{middle}{lang} d"
        agency = AGENCIES[n % len(AGENCIES)]
        control = [("001", f"acx{n:09d}"), ("003", agency),
                   ("005", f"{min(year + self.randint(0, 20), 2024)}{self.randint(1, 12):02d}{self.randint(1, 28):02d}"
                           f"{self.randint(0, 23):02d}{self.randint(0, 59):02d}00.0"),
                   ("008", f008)]
        if kind_name == "book":
            fields.append(("020", " ", " ", [("a", f"978{rng.randrange(10**9, 10**10)}")]))
        if kind_name == "article" and rng.random() < 0.7:
            fields.append(("024", "7", " ", [("a", f"10.{self.randint(1000, 99999)}/acx.{n}"), ("2", "doi")]))
        if rng.random() < 0.3:
            fields.append(("035", " ", " ", [("a", f"({agency}){n + 10_000_000}")]))
        if "040" in self.boilerplate:
            ind1, ind2, subs = min(self.boilerplate["040"], key=lambda b: (len(b[2]), b))
            fields.append(("040", ind1, ind2, subs))
        langs = [lang]
        if rng.random() < 0.15:
            langs.append(self.choice([l for l, _ in LANGS if l != lang]))
        if len(langs) > 1 or lang != "eng" and rng.random() < 0.5:
            fields.append(("041", "0" if len(langs) == 1 else "1", " ", [("a", l) for l in langs]))

        # Main entry: a person, or the meeting.
        people = []
        first_name, first_hanzi = self.person(lang)
        people.append((first_name, first_hanzi))
        for _ in range(min(int(rng.expovariate(0.9)), 5)):
            people.append(self.person(lang))
        links_880 = []
        relator = rng.random()
        main_is_meeting = meeting and rng.random() < 0.4
        meeting_name, meeting_place = self.choice(self.meetings) if meeting else (None, None)
        meeting_no = self.randint(1, 30)
        if main_is_meeting:
            fields.append(("111", "2", " ", [("a", meeting_name), ("n", f"({ordinal(meeting_no)} :"), ("d", f"{year} :"),
                                              ("c", f"{meeting_place})")]))
            added = people
        else:
            name, hanzi = people[0]
            subs = [("a", name + ",")]
            if hanzi:
                occ = next_link()
                subs.insert(0, ("6", f"880-{occ}"))
                links_880.append(("100", occ, "1", " ", [("a", hanzi + ",")]))
            if relator < 0.3:
                subs.append(("e", "author."))
            if rng.random() < 0.75:
                subs.append(("u", self.affiliation()))
            fields.append(("100", "1", " ", subs))
            added = people[1:]

        # Title.
        if chinese:
            hanzi, pinyin = self.chinese_title()
            occ = next_link()
            fields.append(("245", "1", "0", [("6", f"880-{occ}"), ("a", pinyin + " /"),
                                             ("c", f"{first_name.split(', ')[-1]} {first_name.split(', ')[0]} zhu.")]))
            links_880.append(("245", occ, "1", "0", [("a", hanzi + " /"), ("c", (first_hanzi or "") + "著.")]))
            title_json = [pinyin, hanzi]
        else:
            if lang in ("ger", "fre"):
                title = self.phrase(self.randint(3, 6), foreign=True).capitalize()
            elif lang == "jpn":
                title = " ".join(self.choice(JAPANESE_WORDS) for _ in range(self.randint(2, 4))).capitalize()
                title += " = " + self.english_title()
            else:
                title = self.english_title()
            remainder = self.phrase(self.randint(2, 5)) if rng.random() < 0.45 else None
            responsibility = None
            if rng.random() < 0.7:
                responsibility = "by " + " ".join(reversed(first_name.split(", "))) + (" ... [et al.]" if len(people) > 2 else "")
            subs = [("a", title + (" :" if remainder else " /" if responsibility else "."))]
            if remainder:
                subs.append(("b", remainder + (" /" if responsibility else ".")))
            if responsibility:
                subs.append(("c", responsibility))
            fields.append(("245", "1", "0", subs))
            title_json = [title + (": " + remainder if remainder else "")]

        if kind_name in ("book", "thesis"):
            publisher, place = self.choice(self.publishers)
            fields.append(("264", " ", "1", [("a", place + " :"), ("b", publisher + ","), ("c", f"[{year}]")]))
            fields.append(("300", " ", " ", [("a", f"{self.choice(['xii, ', 'xiv, ', 'ix, ', ''])}{self.randint(80, 640)} pages :"),
                                             ("b", "illustrations ;"), ("c", f"{self.choice([21, 23, 24, 26])} cm")]))
            if "336" in self.boilerplate and rng.random() < 0.4:
                ind1, ind2, subs = self.boilerplate["336"][0]
                fields.append(("336", ind1, ind2, subs))
        if kind_name == "thesis":
            inst, city, _ = self.choice(INSTITUTIONS)
            fields.append(("502", " ", " ", [("b", self.choice(["Ph.D.", "M.A.", "Dr. phil."])), ("c", inst), ("d", str(year))]))
        abstract = None
        if rng.random() < 0.75:
            abstract = self.abstract(self.choice([1, 1, 2, 2, 3]))
            fields.append(("520", " ", " ", [("a", abstract)]))

        subjects = []
        for _ in range(self.choice([1, 1, 2, 2, 2, 3])):
            heading = self.subject()
            subjects.append(" -- ".join(v for _, v in heading))
            fields.append(("650", " ", "0", [(c, v + ("." if i == len(heading) - 1 else "")) for i, (c, v) in enumerate(heading)]))

        authors_json = [people[0][0]] if not main_is_meeting else []
        if people[0][1] and not main_is_meeting:
            authors_json.append(people[0][1])
        for name, hanzi in added:
            subs = [("a", name + ",")]
            if hanzi:
                occ = next_link()
                subs.insert(0, ("6", f"880-{occ}"))
                links_880.append(("700", occ, "1", " ", [("a", hanzi + ",")]))
            if rng.random() < 0.1:
                subs.append(("4", self.choice(["edt", "spk", "trl", "ctb"])))
            if rng.random() < 0.6:
                subs.append(("u", self.affiliation()))
            fields.append(("700", "1", " ", subs))
            authors_json.append(name)
            if hanzi:
                authors_json.append(hanzi)
        if meeting and not main_is_meeting:
            fields.append(("711", "2", " ", [("a", meeting_name), ("n", f"({ordinal(meeting_no)} :"), ("d", f"{year} :"),
                                              ("c", f"{meeting_place})")]))
        if kind_name == "article":
            journal, issn = self.pick(self.journals, self.journal_cum)
            fields.append(("773", "0", " ", [("t", journal), ("g", f"Vol. {self.randint(1, 80)}, no. {self.randint(1, 12)} ({year}), "
                                                                    f"p. {(p := self.randint(1, 900))}-{p + self.randint(5, 40)}"),
                                             ("x", issn)]))
        elif kind_name == "paper":
            fields.append(("773", "0", " ", [("t", f"Proceedings of the {ordinal(meeting_no)} {meeting_name}"),
                                             ("g", f"p. {(p := self.randint(1, 900))}-{p + self.randint(5, 20)}")]))
        for partner, occ, ind1, ind2, subs in links_880:
            fields.append(("880", ind1, ind2, [("6", f"{partner}-{occ}/$1")] + subs))

        parts = [f"<record><leader>{leader}</leader>"]
        for tag, value in control:
            parts.append(f'<controlfield tag="{tag}">{esc(value)}</controlfield>')
        for tag, ind1, ind2, subs in fields:
            parts.append(f'<datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}">')
            for code, value in subs:
                parts.append(f'<subfield code="{code}">{esc(value)}</subfield>')
            parts.append("</datafield>")
        parts.append("</record>\n")
        doc = {"title": title_json, "author": authors_json, "subject": subjects, "abstract": abstract or "", "year": year}
        return "".join(parts), doc, subjects, chinese, meeting


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", "-n", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=20240601)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--fixtures", default=os.path.join(here, "..", "fixtures", "valid"))
    parser.add_argument("--no-gz", action="store_true")
    parser.add_argument("--no-jsonl", action="store_true")
    args = parser.parse_args()

    started = time.time()
    templates = Templates(args.fixtures)
    gen = Generator(templates, args.seed)
    os.makedirs(args.out, exist_ok=True)
    xml_path = os.path.join(args.out, "records.xml")
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="{MARC_NS}">\n'.encode()
    tail = b"</collection>\n"
    sha = hashlib.sha256()
    subjects_seen = set()
    chinese = meetings = 0
    xml_file = open(xml_path + ".tmp", "wb", buffering=1 << 20)
    gz_file = None if args.no_gz else gzip.GzipFile(xml_path + ".gz.tmp", "wb", compresslevel=6, mtime=0)
    json_file = None if args.no_jsonl else open(os.path.join(args.out, "records.jsonl.tmp"), "w", encoding="utf-8",
                                                 buffering=1 << 20)
    chunk, chunk_json = [], []

    def flush():
        data = "".join(chunk).encode("utf-8")
        xml_file.write(data)
        sha.update(data)
        if gz_file:
            gz_file.write(data)
        if json_file:
            json_file.write("".join(chunk_json))
        chunk.clear()
        chunk_json.clear()

    chunk.append(head.decode())
    for n in range(1, args.records + 1):
        line, doc, subjects, is_chinese, is_meeting = gen.record(n)
        chunk.append(line)
        if json_file:
            chunk_json.append(json.dumps(doc, ensure_ascii=False) + "\n")
        subjects_seen.update(subjects)
        chinese += is_chinese
        meetings += is_meeting
        if len(chunk) >= 2000:
            flush()
    chunk.append(tail.decode())
    flush()
    xml_file.close()
    os.replace(xml_path + ".tmp", xml_path)
    if gz_file:
        gz_file.close()
        os.replace(xml_path + ".gz.tmp", xml_path + ".gz")
    if json_file:
        json_file.close()
        os.replace(os.path.join(args.out, "records.jsonl.tmp"), os.path.join(args.out, "records.jsonl"))
    size = os.path.getsize(xml_path)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "records": args.records,
        "seed": args.seed,
        "xml_bytes": size,
        "bytes_per_record": round(size / max(args.records, 1), 1),
        "gz_bytes": None if args.no_gz else os.path.getsize(xml_path + ".gz"),
        "sha256": sha.hexdigest(),
        "distinct_subjects": len(subjects_seen),
        "chinese_880_share": round(chinese / max(args.records, 1), 3),
        "meeting_share": round(meetings / max(args.records, 1), 3),
        "templates": templates.files,
        "seconds": round(time.time() - started, 1),
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(json.dumps({k: v for k, v in manifest.items() if k != "templates"}))


if __name__ == "__main__":
    main()
