/* Debian's static libpq is built with Kerberos (GSSAPI) and LDAP support, whose shared libraries
 * (krb5, OpenLDAP and through it GnuTLS, nettle, p11-kit, ...) would be loaded and bound at every
 * start: about 40% of a Lambda cold start. tbpay authenticates to PostgreSQL with a password
 * (MD5 or SCRAM) over TLS, like the Prisma engine it replaces, which has neither. These stand-ins
 * make libpq see "no Kerberos credentials" (so GSS encryption is not attempted) and fail an
 * ldap:// service lookup with a clear message. Linked only with the static libpq
 * (TBPAY_STATIC_DEPS); the declarations follow RFC 2744 and OpenLDAP's ldap.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint32_t OM_uint32;
typedef struct {
  size_t length;
  void* value;
} gss_buffer_desc;
typedef struct {
  OM_uint32 length;
  void* elements;
} gss_OID_desc;

#define GSS_S_COMPLETE 0u
#define GSS_S_FAILURE (13u << 16)

static const char kNoGss[] = "GSSAPI (Kerberos) is not supported by tbpay";

static gss_OID_desc hostbased_service = {10, (void*)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04"};
gss_OID_desc* GSS_C_NT_HOSTBASED_SERVICE = &hostbased_service;

static OM_uint32 gss_unsupported(OM_uint32* minor) {
  if (minor) *minor = 0;
  return GSS_S_FAILURE;
}

OM_uint32 gss_acquire_cred(OM_uint32* minor, void* name, OM_uint32 time, void* mechs, int usage,
                           void** cred, void** actual_mechs, OM_uint32* time_rec) {
  (void)name, (void)time, (void)mechs, (void)usage, (void)actual_mechs, (void)time_rec;
  if (cred) *cred = NULL;
  return gss_unsupported(minor);
}

OM_uint32 gss_import_name(OM_uint32* minor, void* name_buffer, void* name_type, void** name) {
  (void)name_buffer, (void)name_type;
  if (name) *name = NULL;
  return gss_unsupported(minor);
}

OM_uint32 gss_init_sec_context(OM_uint32* minor, void* cred, void** context, void* target,
                               void* mech, OM_uint32 flags, OM_uint32 time, void* bindings,
                               void* input, void** actual_mech, gss_buffer_desc* output,
                               OM_uint32* ret_flags, OM_uint32* time_rec) {
  (void)cred, (void)context, (void)target, (void)mech, (void)flags, (void)time, (void)bindings;
  (void)input, (void)actual_mech, (void)ret_flags, (void)time_rec;
  if (output) output->length = 0, output->value = NULL;
  return gss_unsupported(minor);
}

OM_uint32 gss_wrap(OM_uint32* minor, void* context, int conf, OM_uint32 qop, void* input,
                   int* conf_state, gss_buffer_desc* output) {
  (void)context, (void)conf, (void)qop, (void)input, (void)conf_state;
  if (output) output->length = 0, output->value = NULL;
  return gss_unsupported(minor);
}

OM_uint32 gss_unwrap(OM_uint32* minor, void* context, void* input, gss_buffer_desc* output,
                     int* conf_state, OM_uint32* qop) {
  (void)context, (void)input, (void)conf_state, (void)qop;
  if (output) output->length = 0, output->value = NULL;
  return gss_unsupported(minor);
}

OM_uint32 gss_wrap_size_limit(OM_uint32* minor, void* context, int conf, OM_uint32 qop,
                              OM_uint32 size, OM_uint32* max_input) {
  (void)context, (void)conf, (void)qop, (void)size;
  if (max_input) *max_input = 0;
  return gss_unsupported(minor);
}

/* libpq loops while message_context is non-zero and appends each message: one, then done. */
OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32 status, int type, void* mech,
                             OM_uint32* message_context, gss_buffer_desc* message) {
  (void)status, (void)type, (void)mech;
  if (minor) *minor = 0;
  if (message_context) *message_context = 0;
  if (message) message->length = strlen(kNoGss), message->value = (void*)kNoGss;
  return GSS_S_COMPLETE;
}

/* Nothing here ever allocates, so there is nothing to free. */
OM_uint32 gss_release_buffer(OM_uint32* minor, gss_buffer_desc* buffer) {
  if (minor) *minor = 0;
  if (buffer) buffer->length = 0, buffer->value = NULL;
  return GSS_S_COMPLETE;
}

OM_uint32 gss_release_cred(OM_uint32* minor, void** cred) {
  if (minor) *minor = 0;
  if (cred) *cred = NULL;
  return GSS_S_COMPLETE;
}

OM_uint32 gss_release_name(OM_uint32* minor, void** name) {
  if (minor) *minor = 0;
  if (name) *name = NULL;
  return GSS_S_COMPLETE;
}

OM_uint32 gss_delete_sec_context(OM_uint32* minor, void** context, gss_buffer_desc* output) {
  if (minor) *minor = 0;
  if (context) *context = NULL;
  if (output) output->length = 0, output->value = NULL;
  return GSS_S_COMPLETE;
}

/* LDAP: libpq gives up on ldap_init() returning NULL ("could not create LDAP structure"); the
 * rest is never reached but must exist to link. */
#define LDAP_NOT_SUPPORTED (-12)

void* ldap_init(const char* host, int port) {
  (void)host, (void)port;
  return NULL;
}
int ldap_set_option(void* ld, int option, const void* value) {
  (void)ld, (void)option, (void)value;
  return LDAP_NOT_SUPPORTED;
}
int ldap_simple_bind(void* ld, const char* who, const char* password) {
  (void)ld, (void)who, (void)password;
  return -1;
}
int ldap_search_st(void* ld, const char* base, int scope, const char* filter, char** attrs,
                   int attrsonly, void* timeout, void** result) {
  (void)ld, (void)base, (void)scope, (void)filter, (void)attrs, (void)attrsonly, (void)timeout;
  if (result) *result = NULL;
  return LDAP_NOT_SUPPORTED;
}
int ldap_result(void* ld, int msgid, int all, void* timeout, void** result) {
  (void)ld, (void)msgid, (void)all, (void)timeout;
  if (result) *result = NULL;
  return -1;
}
int ldap_count_entries(void* ld, void* chain) {
  (void)ld, (void)chain;
  return 0;
}
void* ldap_first_entry(void* ld, void* chain) {
  (void)ld, (void)chain;
  return NULL;
}
void** ldap_get_values_len(void* ld, void* entry, const char* attr) {
  (void)ld, (void)entry, (void)attr;
  return NULL;
}
void ldap_value_free_len(void** values) { (void)values; }
int ldap_msgfree(void* message) {
  (void)message;
  return 0;
}
int ldap_unbind(void* ld) {
  (void)ld;
  return 0;
}
char* ldap_err2string(int error) {
  (void)error;
  return (char*)"LDAP is not supported by tbpay";
}
