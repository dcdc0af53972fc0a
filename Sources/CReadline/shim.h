/* CReadline: GNU readline's callback interface for Swift; globals through accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include <readline/history.h>

static inline char *crl_line_buffer(void) { return rl_line_buffer; }
static inline int crl_point(void) { return rl_point; }
static inline int crl_end(void) { return rl_end; }
static inline void crl_set_point(int p) { rl_point = p; }
static inline void crl_set_getc_function(rl_getc_func_t *f) { rl_getc_function = f; }
static inline void crl_set_input_available_hook(rl_hook_func_t *f) { rl_input_available_hook = f; }
static inline void crl_set_redisplay_function(rl_voidfunc_t *f) { rl_redisplay_function = f; }
static inline void crl_set_attempted_completion_function(rl_completion_func_t *f) { rl_attempted_completion_function = f; }
static inline void crl_set_attempted_completion_over(int v) { rl_attempted_completion_over = v; }
static inline void crl_configure_for_embedding(FILE *out) {
    rl_catch_signals = 0; rl_catch_sigwinch = 0; rl_change_environment = 0;
    rl_prep_term_function = NULL; rl_deprep_term_function = NULL;
    rl_outstream = out; rl_readline_name = "ringside";
}
static inline char *crl_display_prompt(void) { return rl_display_prompt; }
static inline void crl_set_completion_display_matches_hook(rl_compdisp_func_t *f) { rl_completion_display_matches_hook = f; }
static inline void crl_set_completion_append_character(int c) { rl_completion_append_character = c; }
static inline void crl_set_bell_style_none(void) { rl_variable_bind("bell-style", "none"); }
static inline void crl_set_readline_name(const char *n) { rl_readline_name = n; }
