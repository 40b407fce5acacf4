/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libFuzzer entry point every target defines. Built two ways: with clang
 * -fsanitize=fuzzer for `make fuzz`, and with the normal compiler against
 * replay.c, which feeds it every file of the corpora in `make check`.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
