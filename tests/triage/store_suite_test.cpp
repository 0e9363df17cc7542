// The store contract (tests/triage/store_suite.h) for every store.
#include "tests/triage/store_suite.h"
