// The default data set, embedded with C23 #embed so binaries work without a data directory.
// The path is relative to this file (Sources/EmbeddedData/), so it names <package>/Data/.
// Editing the .gz file rebuilds this file. Attribution and licences: Data/README.md.
#include "embedded_data.h"

#pragma clang diagnostic ignored "-Wc23-extensions"

static const unsigned char mnist5k_csv_gz[] = {
#embed "../../Data/mnist-5k.csv.gz"
};

const unsigned char *fathom_mnist5k_bytes(void) { return mnist5k_csv_gz; }

unsigned long fathom_mnist5k_length(void) { return (unsigned long)sizeof mnist5k_csv_gz; }
