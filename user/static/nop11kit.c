/*
 * The static build only: p11-kit, without PKCS#11 modules.
 *
 * Debian's libmicrohttpd.a is built with HTTPS support, so it pulls in
 * libgnutls.a, which calls p11-kit for PKCS#11 tokens; Debian ships p11-kit
 * as a shared library only (no libp11-kit.a). tcpclose serves plain HTTP and
 * never starts a TLS session, so gnutls never reaches these functions; they
 * behave as p11-kit does on a host with no PKCS#11 module configured (an
 * empty module list, no URI or PIN object can be made), so that a path that
 * did reach them fails cleanly instead of at link time. The dynamic build
 * links the real libp11-kit.so.
 */
#include <stdlib.h>
#include <string.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pin.h>
#include <p11-kit/uri.h>

static const char no_p11[] = "PKCS#11 is not available in the static tcpclose";

const char *p11_kit_message(void) { return no_p11; }
const char *p11_kit_strerror(CK_RV rv) { (void)rv; return no_p11; }

CK_FUNCTION_LIST **p11_kit_modules_load(const char *reserved, int flags)
{
	(void)reserved; (void)flags;
	return calloc(1, sizeof(CK_FUNCTION_LIST *));	/* no module: an empty list */
}
CK_FUNCTION_LIST *p11_kit_module_load(const char *path, int flags) { (void)path; (void)flags; return NULL; }
CK_RV p11_kit_module_finalize(CK_FUNCTION_LIST *m) { (void)m; return CKR_GENERAL_ERROR; }
void p11_kit_module_release(CK_FUNCTION_LIST *m) { (void)m; }
char *p11_kit_module_get_name(CK_FUNCTION_LIST *m) { (void)m; return NULL; }
int p11_kit_module_get_flags(CK_FUNCTION_LIST *m) { (void)m; return 0; }
char *p11_kit_config_option(CK_FUNCTION_LIST *m, const char *opt) { (void)m; (void)opt; return NULL; }

/* PKCS#11 strings are padded with spaces, not terminated. */
size_t p11_kit_space_strlen(const unsigned char *s, size_t max)
{
	while (max > 0 && s[max - 1] == ' ')
		max--;
	return max;
}
char *p11_kit_space_strdup(const unsigned char *s, size_t max)
{
	size_t n = p11_kit_space_strlen(s, max);
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

/* No URI object: gnutls reports GNUTLS_E_MEMORY_ERROR on a PKCS#11 URL. */
P11KitUri *p11_kit_uri_new(void) { return NULL; }
void p11_kit_uri_free(P11KitUri *u) { (void)u; }
int p11_kit_uri_parse(const char *s, P11KitUriType t, P11KitUri *u) { (void)s; (void)t; (void)u; return P11_KIT_URI_NOT_FOUND; }
int p11_kit_uri_format(P11KitUri *u, P11KitUriType t, char **s) { (void)u; (void)t; *s = NULL; return P11_KIT_URI_NOT_FOUND; }
CK_ATTRIBUTE_PTR p11_kit_uri_get_attribute(P11KitUri *u, CK_ATTRIBUTE_TYPE a) { (void)u; (void)a; return NULL; }
CK_ATTRIBUTE_PTR p11_kit_uri_get_attributes(P11KitUri *u, CK_ULONG *n) { (void)u; *n = 0; return NULL; }
int p11_kit_uri_set_attribute(P11KitUri *u, CK_ATTRIBUTE_PTR a) { (void)u; (void)a; return P11_KIT_URI_NOT_FOUND; }
CK_INFO_PTR p11_kit_uri_get_module_info(P11KitUri *u) { (void)u; return NULL; }
CK_TOKEN_INFO_PTR p11_kit_uri_get_token_info(P11KitUri *u) { (void)u; return NULL; }
int p11_kit_uri_match_module_info(const P11KitUri *u, const CK_INFO *i) { (void)u; (void)i; return 0; }
int p11_kit_uri_match_token_info(const P11KitUri *u, const CK_TOKEN_INFO *i) { (void)u; (void)i; return 0; }
const char *p11_kit_uri_get_pin_source(const P11KitUri *u) { (void)u; return NULL; }
const char *p11_kit_uri_get_pin_value(const P11KitUri *u) { (void)u; return NULL; }

P11KitPin *p11_kit_pin_new_for_string(const char *v) { (void)v; return NULL; }
P11KitPin *p11_kit_pin_request(const char *src, P11KitUri *u, const char *d, P11KitPinFlags f)
{ (void)src; (void)u; (void)d; (void)f; return NULL; }
P11KitPin *p11_kit_pin_file_callback(const char *src, P11KitUri *u, const char *d, P11KitPinFlags f, void *data)
{ (void)src; (void)u; (void)d; (void)f; (void)data; return NULL; }
int p11_kit_pin_register_callback(const char *src, p11_kit_pin_callback cb, void *data, p11_kit_pin_destroy_func destroy)
{ (void)src; (void)cb; (void)data; (void)destroy; return -1; }
void p11_kit_pin_unregister_callback(const char *src, p11_kit_pin_callback cb, void *data) { (void)src; (void)cb; (void)data; }
const unsigned char *p11_kit_pin_get_value(P11KitPin *p, size_t *len) { (void)p; *len = 0; return NULL; }
size_t p11_kit_pin_get_length(P11KitPin *p) { (void)p; return 0; }
void p11_kit_pin_unref(P11KitPin *p) { (void)p; }
