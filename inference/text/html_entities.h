/* html_entities.h — the HTML5 named character reference table.
 *
 * The table itself is generated (scripts/gen_html_entities.py) from the
 * Python html.entities.html5 dictionary, so that our html.unescape knows
 * exactly the names Python's does, including the legacy ones that are valid
 * without a trailing ';' ("amp", "lt", "copy", ...).
 */
#ifndef MC_TEXT_HTML_ENTITIES_H
#define MC_TEXT_HTML_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

/* Longest name, counting its ';'. */
#define MC_HTML_ENTITY_NAME_MAX 32

typedef struct {
  const char *name;      /* e.g. "amp;" or "amp" (both exist) */
  uint32_t cp[2];        /* the expansion; cp[1] is 0 for a single code point */
} mc_html_entity;

/* Sorted by strcmp order of name. */
extern const mc_html_entity mc_html_entities[];
extern const size_t mc_html_entities_count;

#endif
