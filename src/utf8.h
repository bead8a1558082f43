/* utf8.h: recognising well-formed UTF-8, for the writers whose formats
 * require it (JSON statistics, SVG). Names come from programs and files as
 * bytes; a writer copies the well-formed sequences and replaces every other
 * byte with U+FFFD, so one stray byte cannot make the whole output
 * unreadable to a strict parser. Messages, which are not UTF-8 checked,
 * mask control characters instead, and cut names between characters. */
#ifndef PM_UTF8_H
#define PM_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

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

/* The code point of a well-formed sequence of length bytes at c that
 * some readers break lines at, or 0: the C1 controls (U+0080-U+009F; U+0085
 * is NEL, U+009B a terminal's CSI) and U+2028/U+2029. */
static inline unsigned _pm_utf8_line_breaking_code_point(const unsigned char *c, size_t length) {
  if (length == 2 && c[0] == 0xc2 && c[1] <= 0x9f) return c[1];
  if (length == 3 && c[0] == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9))
    return 0x2000u | (unsigned)(c[2] - 0x80);
  return 0;
}

/* c, or '?' for a C0 control character or DEL. */
static inline char _pm_char_masked(char c) {
  return (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
}

/* Copies text into out (out_size bytes, NUL included) for a one-line
 * message, whose text comes from a program, a file or the environment:
 * a control character (C0, DEL, C1 as UTF-8 or as a stray byte, which an
 * 8-bit terminal reads as one) and U+2028/U+2029 become one '?' each, so
 * the message stays one line and sends a terminal no escape sequence.
 * Other bytes are copied as they are; a well-formed sequence that does not
 * fit is left out whole. Returns the length copied. out may be text
 * itself: the copy is never longer than what it was read from. */
static inline size_t _pm_text_mask_copy(char *out, size_t out_size, const char *text) {
  size_t len = 0;
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0' && len + 1 < out_size;) {
    size_t length = _pm_utf8_sequence_length(c);
    bool stray = length == 0;
    if (stray) length = 1;
    bool masked = _pm_char_masked((char)*c) != (char)*c || (stray && *c <= 0x9f) ||
                  _pm_utf8_line_breaking_code_point(c, length) != 0;
    if (masked) {
      out[len++] = '?';
    } else {
      if (len + length >= out_size) break;
      for (size_t i = 0; i < length; i++)
        out[len++] = (char)c[i];
    }
    c += length;
  }
  out[len] = '\0';
  return len;
}

/* The same, in place. */
static inline void _pm_text_mask_controls(char *text) {
  _pm_text_mask_copy(text, strlen(text) + 1, text);
}

/* The length of the longest start of text, at most max bytes, that cuts
 * no well-formed sequence in two (a stray byte counts as one character). */
static inline size_t _pm_utf8_cut(const char *text, size_t max) {
  size_t len = 0;
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0';) {
    size_t length = _pm_utf8_sequence_length(c);
    if (length == 0) length = 1;
    if (len + length > max) break;
    len += length;
    c += length;
  }
  return len;
}

/* Messages show at most this many bytes of a name (a tensor's, a CSV
 * field), so that a long one cannot push the problem out of the message. */
#define PM_NAME_SHOWN      40
#define PM_NAME_SHOWN_SIZE (PM_NAME_SHOWN + sizeof "...")

/* name as a message shows it, written to buf (PM_NAME_SHOWN_SIZE bytes):
 * cut between characters, "..." marking a cut. */
static inline const char *_pm_name_shown(char *buf, const char *name) {
  size_t len = _pm_utf8_cut(name, PM_NAME_SHOWN);
  memcpy(buf, name, len);
  strcpy(buf + len, name[len] != '\0' ? "..." : "");
  return buf;
}
/* The same into a buffer that lives until the end of the enclosing block:
 * for an argument of the message's printf. */
#define PM_SHOWN(name) _pm_name_shown((char[PM_NAME_SHOWN_SIZE]){0}, (name))

#endif /* PM_UTF8_H */
