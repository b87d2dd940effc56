// Functions marked TRASHCL_CLONES_FOR("isa") get a copy compiled for that instruction set beside the baseline one
// on x86-64, picked when the program loads: one binary runs on any x86-64 and uses the newer instructions where
// the CPU has them. Elsewhere (aarch64, compilers without the attribute) they compile once, for the target.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define TRASHCL_CLONES_FOR(isa) __attribute__((target_clones(isa, "default")))
#endif
#endif
#ifndef TRASHCL_CLONES_FOR
#define TRASHCL_CLONES_FOR(isa)
#endif
