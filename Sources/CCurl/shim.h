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
// Trust only this CA (PEM) for https:// (DESIGN section 8): the blob, and no CA file or folder,
// since Debian's libcurl otherwise also trusts the system's (/etc/ssl/certs). Peer and host verified.
static inline CURLcode imprint_curl_pin_ca(CURL *h, const void *pem, size_t length) {
    struct curl_blob blob = { (void *)pem, length, CURL_BLOB_COPY };
    CURLcode r = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    if (r == CURLE_OK) r = curl_easy_setopt(h, CURLOPT_CAINFO, (char *)0);
    if (r == CURLE_OK) r = curl_easy_setopt(h, CURLOPT_CAPATH, (char *)0);
    if (r == CURLE_OK) r = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    if (r == CURLE_OK) r = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    return r;
}
#endif
