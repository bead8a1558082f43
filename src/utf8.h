/* utf8.h: recognising well-formed UTF-8, for the writers whose formats
 * require it (JSON statistics, SVG). Names come from programs and files as
 * bytes; a writer copies the well-formed sequences and replaces every other
 * byte with U+FFFD, so one stray byte cannot make the whole output
 * unreadable to a strict parser. Messages, which are not UTF-8 checked,
 * mask control characters instead. */
#ifndef PM_UTF8_H
#define PM_UTF8_H

#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence that text starts with, or
 * 0 if it starts with none: a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF, or a sequence cut short (by the
 * string's NUL too). Per the Unicode standard, table 3-7. */
static inline size_t _pm_utf8_sequence_length(const unsigned char *text) {
  unsigned char lead = text[0];
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xbf; /* allowed range of the second byte */
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;  /* overlong */
    if (lead == 0xed) high = 0x9f; /* surrogates */
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;  /* overlong */
    if (lead == 0xf4) high = 0x8f; /* past U+10FFFF */
  } else {
    return 0;
  }
  if (text[1] < low || text[1] > high) return 0;
  for (size_t i = 2; i < length; i++)
    if (text[i] < 0x80 || text[i] > 0xbf) return 0;
  return length;
}

/* Whether the well-formed sequence of length bytes at text is U+FFFE or
 * U+FFFF, which XML 1.0 does not allow either. */
static inline int _pm_utf8_is_noncharacter(const unsigned char *text, size_t length) {
  return length == 3 && text[0] == 0xef && text[1] == 0xbf && text[2] >= 0xbe;
}

/* c, or '?' for a control character: text from a program or a file that
 * a message echoes keeps it one line and sends a terminal no escape
 * sequence. */
static inline char _pm_char_masked(char c) {
  return (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
}

/* The same for a whole string, in place. */
static inline void _pm_text_mask_controls(char *text) {
  for (; *text != '\0'; text++)
    *text = _pm_char_masked(*text);
}

#endif /* PM_UTF8_H */
