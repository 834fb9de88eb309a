/*
 * The load-time check of the Swift bindings, without Swift.
 *
 * When ImBridge.swift first touches the library it compares the library's UniFFI contract
 * version (ffi_imbridge_uniffi_contract_version) and one checksum per API item
 * (uniffi_imbridge_checksum_*) with the values it was generated with, and stops the app with
 * "UniFFI API checksum mismatch" on any difference. This program makes the same calls into a
 * built libimbridge and compares them with the values check-bindings.sh parsed out of the
 * Swift source, so a stale or mismatched library is caught in CI instead of on a phone.
 *
 *   checksums LIBRARY EXPECTATIONS
 *
 * EXPECTATIONS has one line per value: "contract <symbol> <value>" (exactly one) or
 * "checksum <symbol> <value>". Exit status: 0 all match; 1 a mismatch, a symbol missing from the
 * library, or the library does not load; 2 bad usage or a bad expectations file.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint32_t (*contract_fn)(void);
typedef uint16_t (*checksum_fn)(void);

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBRARY EXPECTATIONS\n", argv[0]);
        return 2;
    }
    const char *library = argv[1];
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "checksums: cannot load %s: %s\n", library, dlerror());
        return 1;
    }
    FILE *expectations = fopen(argv[2], "r");
    if (expectations == NULL) {
        perror(argv[2]);
        return 2;
    }

    char kind[16], symbol[256];
    unsigned long expected;
    int contracts = 0, checksums = 0, failures = 0, fields;
    /* Counted per line read, so that a missing symbol is a failure (1), not a bad file (2). */
    while ((fields = fscanf(expectations, "%15s %255s %lu", kind, symbol, &expected)) == 3) {
        int is_contract = strcmp(kind, "contract") == 0;
        if (!is_contract && strcmp(kind, "checksum") != 0) {
            fprintf(stderr, "checksums: %s: unknown kind \"%s\"\n", argv[2], kind);
            return 2;
        }
        if (is_contract) {
            contracts++;
        } else {
            checksums++;
        }
        void *address = dlsym(handle, symbol);
        if (address == NULL) {
            printf("MISSING   %s: not exported by %s (the bindings call it)\n", symbol, library);
            failures++;
            continue;
        }
        unsigned long actual;
        if (is_contract) {
            contract_fn fn;
            memcpy(&fn, &address, sizeof fn);
            actual = fn();
        } else {
            checksum_fn fn;
            memcpy(&fn, &address, sizeof fn);
            actual = fn();
        }
        if (actual != expected) {
            printf("MISMATCH  %s: the Swift bindings expect %lu, the library returns %lu\n",
                   symbol, expected, actual);
            failures++;
        }
    }
    if (fields != EOF) {
        fprintf(stderr, "checksums: %s: malformed line after %d entries\n", argv[2],
                contracts + checksums);
        return 2;
    }
    fclose(expectations);
    if (contracts != 1 || checksums == 0) {
        fprintf(stderr, "checksums: %s must hold one contract version and at least one checksum "
                        "(found %d and %d): did the generated Swift change shape?\n",
                argv[2], contracts, checksums);
        return 2;
    }
    printf("checksums: %d checksums + contract version checked against %s: %d failed\n",
           checksums, library, failures);
    return failures == 0 ? 0 : 1;
}
