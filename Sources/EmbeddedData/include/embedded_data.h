#ifndef FATHOM_EMBEDDED_DATA_H
#define FATHOM_EMBEDDED_DATA_H

/// The bytes of Data/mnist-5k.csv.gz (gzip-compressed CSV: 5,000 MNIST digits, 784 pixels 0-255
/// then the label, no header), embedded at build time with C23 #embed. See Data/README.md for
/// attribution and licences. Never NULL; the array lives for the whole process.
const unsigned char *fathom_mnist5k_bytes(void);

/// Number of bytes at fathom_mnist5k_bytes().
unsigned long fathom_mnist5k_length(void);

#endif
