// CCurl: libcurl (Debian: libcurl4-openssl-dev) for the uploader.
//
// curl_easy_setopt and curl_easy_getinfo are variadic C functions, which Swift cannot call.
// Each static inline function below stands in for one of them with one fixed argument type,
// so Swift calls a typed function and C does the variadic call. (static inline, never extern
// inline: an extern inline definition in a header gives multiple-definition link errors.)
#ifndef EDT_CCURL_SHIM_H
#define EDT_CCURL_SHIM_H

#include <curl/curl.h>

/// curl_easy_setopt with a long argument (timeouts, flags, sizes that fit a long).
static inline CURLcode edt_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a curl_off_t argument (CURLOPT_*_LARGE sizes).
static inline CURLcode edt_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a C string argument (URL, CA file, pinned key, encodings). libcurl
/// copies the string, so it need not outlive the call.
static inline CURLcode edt_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with an opaque pointer argument (CURLOPT_READDATA, CURLOPT_WRITEDATA...).
static inline CURLcode edt_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a header list (CURLOPT_HTTPHEADER).
static inline CURLcode edt_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt with a read callback (CURLOPT_READFUNCTION).
static inline CURLcode edt_curl_setopt_read_callback(CURL *handle, curl_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

/// curl_easy_setopt with a write callback (CURLOPT_WRITEFUNCTION).
static inline CURLcode edt_curl_setopt_write_callback(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/// curl_easy_setopt with a header callback (CURLOPT_HEADERFUNCTION; same shape as a write callback).
static inline CURLcode edt_curl_setopt_header_callback(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

/// curl_easy_getinfo for a long result (CURLINFO_RESPONSE_CODE...).
static inline CURLcode edt_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a curl_off_t result (CURLINFO_SIZE_UPLOAD_T...).
static inline CURLcode edt_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a double result (CURLINFO_TOTAL_TIME...).
static inline CURLcode edt_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a string result (CURLINFO_CONTENT_TYPE...); owned by libcurl.
static inline CURLcode edt_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
