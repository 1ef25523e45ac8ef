/*
 * fuzz_spec.c — libFuzzer target for the experiment-file loader.
 *
 * Any input must give either a spec or a positioned error: never a crash, a
 * leak, a hang or undefined behaviour.  Built with -fsanitize=fuzzer by
 * `make fuzz`; replay_main.c runs the committed corpus under ctest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_spec *spec = NULL;
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_spec_parse("fuzz.yaml", (const char *)data, size, &spec, &err) == 0) {
		if (!spec || err.code != 0)
			abort();
		tc_spec_free(spec);
	} else if (spec || err.msg[0] == '\0') {
		abort(); /* failure must leave nothing behind and say why */
	}
	return 0;
}
