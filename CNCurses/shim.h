/* CNCurses: ncursesw for Swift.  The define must live here: SwiftPM drops
 * pkg-config -D flags, and without it the importer sees no wide-char API. */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <ncurses.h>
#include <panel.h>

/* C globals and macros the Swift importer cannot see. */
static inline WINDOW *cn_stdscr(void) { return stdscr; }
static inline int cn_lines(void) { return LINES; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_key_f(int n) { return KEY_F(n); }
static inline attr_t cn_color_pair(short n) { return COLOR_PAIR(n); }
static inline int cn_wattr_on(WINDOW *w, attr_t a) { return wattr_on(w, a, NULL); }
static inline int cn_wattr_off(WINDOW *w, attr_t a) { return wattr_off(w, a, NULL); }
static inline void cn_getmaxyx(const WINDOW *w, int *y, int *x) { getmaxyx(w, *y, *x); }
static const attr_t CN_A_NORMAL = A_NORMAL;
static const attr_t CN_A_BOLD = A_BOLD;
static const attr_t CN_A_REVERSE = A_REVERSE;
static const attr_t CN_A_UNDERLINE = A_UNDERLINE;
static const attr_t CN_A_DIM = A_DIM;
static inline void cn_setlocale_from_env(void) { setlocale(LC_ALL, ""); }
static inline int cn_wattr_set(WINDOW *w, attr_t a) { return wattrset(w, a); }
