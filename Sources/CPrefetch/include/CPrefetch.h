// Software prefetch for Swift (the standard library has none): hints that memory will be read soon.
// Never faults, whatever the address. Inlined into Swift callers.
#ifndef CORONER_CPREFETCH_H
#define CORONER_CPREFETCH_H

#include <stddef.h>
#include <stdint.h>

/// Asks the cache for the line holding `address`.
static inline __attribute__((always_inline)) void coroner_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Asks the cache for every 64-byte line that `bytes` bytes from `address` touch (a value that starts
/// in the middle of a line reaches into one more).
static inline __attribute__((always_inline)) void coroner_prefetch_range(const void *address, size_t bytes) {
    uintptr_t end = (uintptr_t)address + bytes;
    for (uintptr_t line = (uintptr_t)address & ~(uintptr_t)63; line < end; line += 64) {
        __builtin_prefetch((const void *)line, 0, 3);
    }
}

#endif
