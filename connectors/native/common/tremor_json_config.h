/*
 * A deliberately tiny reader for flat JSON config objects, enough for the sample plugins:
 * finds "key" at the top level and reads an integer or a string value. Not a JSON parser;
 * a real plugin would use one.
 */
#ifndef TREMOR_JSON_CONFIG_H
#define TREMOR_JSON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Points at the first byte of the value of "key", or NULL when absent. */
static inline const uint8_t *tjc_find(const uint8_t *json, size_t len, const char *key)
{
    size_t klen = strlen(key);
    size_t i;
    for (i = 0; i + klen + 2 <= len; i++) {
        if (json[i] == '"' && memcmp(json + i + 1, key, klen) == 0 && json[i + 1 + klen] == '"') {
            size_t j = i + klen + 2;
            while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
            if (j < len && json[j] == ':') {
                j++;
                while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
                return j < len ? json + j : NULL;
            }
        }
    }
    return NULL;
}

/* 1: found an integer, 0: absent, -1: present but not an integer. */
static inline int tjc_int(const uint8_t *json, size_t len, const char *key, int64_t *out)
{
    const uint8_t *v = tjc_find(json, len, key);
    const uint8_t *end = json + len;
    int64_t n = 0;
    int neg = 0, digits = 0;
    if (v == NULL) return 0;
    if (v < end && *v == '"') v++; /* "5" is accepted too */
    if (v < end && *v == '-') { neg = 1; v++; }
    while (v < end && *v >= '0' && *v <= '9') { n = n * 10 + (*v - '0'); v++; digits++; }
    if (digits == 0) return -1;
    *out = neg ? -n : n;
    return 1;
}

/* 1: found a string (copied, NUL-terminated, into a malloc'd *out), 0: absent, -1: not a string. */
static inline int tjc_string(const uint8_t *json, size_t len, const char *key, char **out)
{
    const uint8_t *v = tjc_find(json, len, key);
    const uint8_t *end = json + len;
    const uint8_t *start;
    char *s;
    if (v == NULL) return 0;
    if (*v != '"') return -1;
    start = ++v;
    while (v < end && *v != '"') { if (*v == '\\') v++; v++; }
    if (v >= end) return -1;
    s = (char *)malloc((size_t)(v - start) + 1);
    if (s == NULL) return -1;
    memcpy(s, start, (size_t)(v - start));
    s[v - start] = '\0';
    *out = s;
    return 1;
}

#endif
