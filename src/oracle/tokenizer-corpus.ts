// Test strings for tokenizer parity with llama.cpp: hand-written cases for the hard spots of the
// SentencePiece and byte-level BPE pre-tokenizers, plus seeded random mixes of the same pieces.

import { Random } from "../fixtures/random.js";

/** Special-token strings of the supported vocabularies; content must encode them as plain text. */
export const SPECIAL_TOKEN_STRINGS = [
  "<s>", "</s>", "<unk>",
  "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>",
] as const;

const ENGLISH = [
  "Hello world",
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "Is this answer correct? Answer Yes or No.",
  "Rate the response from 1 to 5.",
  "A",
  "a",
  "I",
  "Yes",
  " Yes",
  "No",
  "UPPER CASE WORDS AND lower case words",
  "camelCaseIdentifier and snake_case_identifier",
  "e.g. i.e. etc. Mr. Dr. U.S.A.",
  "The end.",
  "What's up? Nothing's wrong.",
];

const CONTRACTIONS = [
  "don't can't won't shouldn't",
  "I'm you're we've they'll he'd she's it's",
  "I'M YOU'RE WE'VE THEY'LL HE'D SHE'S",
  "You'Re We'Ve They'Ll",
  "'s 't 're 've 'm 'll 'd",
  "rock'n'roll o'clock",
  "'tis the season",
  "quote 'single' and \"double\"",
  "long s: 'ſ and '\u017f",
  "curly apostrophe: don\u2019t",
];

const WHITESPACE = [
  " ",
  "  ",
  "   ",
  "\t",
  "\n",
  "\n\n",
  "\r\n",
  " \n ",
  "  leading two spaces",
  " leading space",
  "trailing space ",
  "trailing spaces   ",
  "a  b   c    d",
  "tab\tseparated\tvalues",
  "line one\nline two\n\nline four",
  "windows\r\nline\r\nendings",
  "mixed \t \n \r\n whitespace",
  "\n\n\nthree newlines first",
  "word\n   indented",
  "word   \n",
  "   \n\n   ",
  "\t\tdouble tab",
  "x\u00a0nbsp\u00a0y",
  "ideographic\u3000space",
  "next line\u0085char",
  "zero width\u200bspace",
  "bom\ufeffinside",
  "en\u2002space em\u2003space thin\u2009space",
  "line\u2028separator para\u2029separator",
  "vertical\u000btab form\u000cfeed",
  "ascii\u001cfile\u001fseparators",
];

const NUMBERS = [
  "0",
  "7",
  "42",
  "123",
  "1234",
  "12345",
  "123456789012345678901234567890",
  "3.14159265358979",
  "-273.15",
  "1,000,000",
  "1e-10 and 6.02e23",
  "2024-05-17T12:34:56Z",
  "+1 (555) 123-4567",
  "version 1.2.3-beta.4",
  "٣٤٥ Arabic-Indic digits",
  "१२३ Devanagari digits",
  "½ ¾ ² ³ Ⅻ",
  "0x1F 0b1010 0o777",
  "100%",
  "$9.99",
];

const CODE = [
  "function add(a, b) {\n  return a + b;\n}",
  "def f(x):\n    return x ** 2\n",
  "for (let i = 0; i < n; i++) { sum += a[i]; }",
  "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); }",
  "SELECT * FROM users WHERE id = 42;",
  "const re = /^[a-z]+$/giu;",
  "<div class=\"x\">text</div>",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "x => x * 2",
  "if (a != b && c >= d || !e) {}",
  "    four spaces indent\n        eight spaces",
  "\tindented with tab",
  "a==b!=c<=d>=e->f::g",
  "```python\nprint('hi')\n```",
  "path/to/file.txt C:\\Windows\\System32",
  "~!@#$%^&*()_+-=[]{}|;':\",./<>?`",
  "...---...",
  "!!!???",
  "@user #hashtag $TICKER",
  "<<>>",
];

const URLS = [
  "https://example.com/path?query=1&b=2#frag",
  "http://127.0.0.1:8080/index.html",
  "mailto:someone@example.org",
  "www.example.co.uk",
  "ftp://files.example.net/pub/file.tar.gz",
];

const KOREAN = [
  "안녕하세요",
  "안녕하세요 세계",
  "이 답변은 정확합니까? 예 또는 아니오로 답하십시오.",
  "한국어와 English 혼합",
  "ㄱㄴㄷ ㅏㅑㅓ",
  "가나다라마바사 123",
];

const JAPANESE = [
  "こんにちは世界",
  "日本語のテキストです。",
  "カタカナとひらがなと漢字",
  "ｶﾀｶﾅ 半角",
  "東京は2024年に",
];

const CHINESE = [
  "你好，世界！",
  "这是一个测试。",
  "中文和English混合",
  "繁體中文測試",
  "一二三四五六七八九十",
];

const ARABIC_AND_OTHERS = [
  "مرحبا بالعالم",
  "السلام عليكم ورحمة الله",
  "שלום עולם",
  "Привет, мир!",
  "Ελληνικά γράμματα",
  "नमस्ते दुनिया",
  "สวัสดีชาวโลก",
  "Tiếng Việt có dấu",
  "Crème brûlée à la française",
  "naïve café résumé",
  "e\u0301 combining acute",
  "Ångström ß ẞ",
  "İstanbul ı",
];

const EMOJI = [
  "😀",
  "👍",
  "👍🏽",
  "👨‍👩‍👧‍👦",
  "🏳️‍🌈",
  "❤️",
  "I ❤️ tokenizers 🎉🎉🎉",
  "👩🏿‍💻 coding",
  "🇰🇷🇯🇵🇺🇸",
  "emoji at end 🚀",
  "🙂🙃",
  "☕️ and ✨",
  "a👍b",
];

const SPECIAL_TEXT = [
  "<s>",
  "</s>",
  "<unk>",
  "<s>hello</s>",
  "text with </s> inside",
  "x<s>y",
  "<|begin_of_text|>",
  "<|end_of_text|>",
  "<|eot_id|>",
  "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
  "<|endoftext|>",
  "<think>",
  "</think>",
  "<think>\nreasoning\n</think>\n\nanswer",
  "<tool_call>{}</tool_call>",
  "<|im_end",
  "im_end|>",
  "< s >",
  "<<s>>",
  "</s></s></s>",
  " <s> ",
  "<|reserved_special_token_5|>",
  "<0x41>",
];

const EMPTYISH = ["", ".", ",", "?", "-", "_", "'", "\"", "\u200d", "\u0301", "\ufe0f"];

/** Building blocks of the generated mixes. */
const PIECES = [
  ...["the", "The", "answer", "is", "correct", "wrong", "Yes", "No", "rate", "score"],
  ...["'s", "'ll", "'RE", "n't"],
  ...[" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n"],
  ...["0", "42", "1234", "3.5", "99999"],
  ...[".", ",", "!", "?", "...", "()", "{}", "->", "==", "\"", "'"],
  ...["안녕", "한국어", "こんにちは", "日本", "中文", "测试", "مرحبا", "Привет", "café"],
  ...["😀", "👍🏽", "👨‍👩‍👧", "🇯🇵", "❤️"],
  ...SPECIAL_TOKEN_STRINGS,
];

function generatedMixes(count: number, random: Random): string[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random.uniform() * items.length)]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random.uniform() * 12);
    let text = "";
    for (let j = 0; j < length; j++) text += pick(PIECES);
    out.push(text);
  }
  return out;
}

/**
 * Code point ranges for random strings: controls, Latin with accents, combining marks, several
 * scripts, general punctuation and spaces, CJK, Hangul, variation selectors, full-width forms,
 * emoji, and tag characters.
 */
const CODE_POINT_RANGES: Array<[number, number]> = [
  [0x00, 0x7f], [0x80, 0x24f], [0x300, 0x36f], [0x370, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
  [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f], [0x2070, 0x2bff], [0x3000, 0x30ff],
  [0x4e00, 0x4eff], [0xac00, 0xad00], [0xfe00, 0xfe0f], [0xff00, 0xffef], [0x1f300, 0x1faff],
  [0xe0000, 0xe007f],
];

function randomCodePointStrings(count: number, random: Random): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random.uniform() * 16);
    let text = "";
    for (let j = 0; j < length; j++) {
      const [low, high] = CODE_POINT_RANGES[Math.floor(random.uniform() * CODE_POINT_RANGES.length)]!;
      text += String.fromCodePoint(low + Math.floor(random.uniform() * (high - low + 1)));
    }
    out.push(text);
  }
  return out;
}

/**
 * Returns the hand-written cases, then `generated` seeded mixes of words, numbers, scripts, emoji
 * and special-token strings, then `randomCodePoints` strings of random code points (about 480
 * strings with the defaults).
 */
export function tokenizerCorpus(options: { generated?: number; randomCodePoints?: number; seed?: number } = {}): string[] {
  const handWritten = [
    ...ENGLISH, ...CONTRACTIONS, ...WHITESPACE, ...NUMBERS, ...CODE, ...URLS,
    ...KOREAN, ...JAPANESE, ...CHINESE, ...ARABIC_AND_OTHERS, ...EMOJI, ...SPECIAL_TEXT, ...EMPTYISH,
  ];
  const random = new Random(options.seed ?? 0x70c3);
  return [...handWritten, ...generatedMixes(options.generated ?? 200, random), ...randomCodePointStrings(options.randomCodePoints ?? 100, random)];
}
