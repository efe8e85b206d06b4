/*
 * The part of the wasm3 embedding API that the generated boards/<board>/hal_link.c uses, and
 * nothing else. Spellings, types and macro bodies follow wasm3 v0.5.0 (source/wasm3.h), whose
 * raw-function convention is: an IM3ImportContext argument, return slots on the value stack
 * before the arguments, and m3Err_* constants that are plain C strings compared by address.
 *
 * Why a subset instead of wasm3.h: hal_link.c then compiles (and is checked in CI) without a
 * wasm3 checkout, and the link table cannot quietly come to depend on more of wasm3 than this.
 * The declarations are ABI-compatible with the wasm3 library, so on the MCU hal_link.c is
 * compiled against this header and linked with the interpreter built from its own sources.
 * A wasm3 older than v0.5.0 passes no import context and overlaps the return value with the
 * first argument; these macros do not match it.
 *
 * Little-endian only (Cortex-M, Xtensa, x86): an argument is read from the low bytes of its
 * 64-bit stack slot, as wasm3 itself does when M3_BIG_ENDIAN is not defined.
 */
#ifndef STRATA_M3_API_SUBSET_H
#define STRATA_M3_API_SUBSET_H

#include <stdint.h>

#if defined(__cplusplus)
extern "C" {
#endif

typedef const char * M3Result;

struct M3Runtime;       typedef struct M3Runtime *       IM3Runtime;
struct M3Module;        typedef struct M3Module *        IM3Module;
/* Opaque here: the link table never reads the import context's userdata. */
struct M3ImportContext; typedef struct M3ImportContext * IM3ImportContext;

/* Defined inside the wasm3 library (where M3_IMPLEMENT_ERROR_STRINGS is set); m3Err_none is NULL. */
extern const M3Result m3Err_none;
extern const M3Result m3Err_functionLookupFailed;           /* the module does not import it */
extern const M3Result m3Err_trapOutOfBoundsMemoryAccess;

typedef const void * (* M3RawCall) (IM3Runtime runtime, IM3ImportContext _ctx, uint64_t * _sp, void * _mem);

M3Result    m3_LinkRawFunction  (IM3Module              io_module,
                                 const char * const     i_moduleName,
                                 const char * const     i_functionName,
                                 const char * const     i_signature,
                                 M3RawCall              i_function);

/* Current size of the runtime's linear memory in bytes. */
uint32_t    m3_GetMemorySize    (IM3Runtime             i_runtime);

#define m3ApiOffsetToPtr(offset)    (void*)((uint8_t*)_mem + (uint32_t)(offset))

#define m3ApiReturnType(TYPE)       TYPE* raw_return = ((TYPE*) (_sp++));
#define m3ApiGetArg(TYPE, NAME)     TYPE NAME = * ((TYPE *) (_sp++));

#define m3ApiRawFunction(NAME)      const void * NAME (IM3Runtime runtime, IM3ImportContext _ctx, uint64_t * _sp, void * _mem)
#define m3ApiReturn(VALUE)          { *raw_return = (VALUE); return m3Err_none; }
#define m3ApiTrap(VALUE)            { return VALUE; }
#define m3ApiSuccess()              { return m3Err_none; }

#if defined(__cplusplus)
}
#endif

#endif /* STRATA_M3_API_SUBSET_H */
