#ifndef IMPRINT_CCURL_SHIM_H
#define IMPRINT_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt is variadic, which Swift cannot call: one typed wrapper per
// argument kind.
static inline CURLcode imprint_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode imprint_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode imprint_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode imprint_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode imprint_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*imprint_curl_write_fn)(char *, size_t, size_t, void *);
static inline CURLcode imprint_curl_setopt_write(CURL *h, CURLoption o, imprint_curl_write_fn v) { return curl_easy_setopt(h, o, v); }
// curl_easy_getinfo is variadic too.
static inline CURLcode imprint_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode imprint_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
// CURLMsg's `data` is a union; its `result` member is what a finished transfer reports.
static inline CURLcode imprint_curl_msg_result(CURLMsg *m) { return m->data.result; }
#endif
