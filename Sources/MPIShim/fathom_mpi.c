#include "fathom_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

static MPI_Op reduction(int op) {
    switch (op) {
    case FATHOM_MPI_MAX: return MPI_MAX;
    case FATHOM_MPI_MIN: return MPI_MIN;
    default: return MPI_SUM;
    }
}

int fathom_mpi_init(int *rank, int *size) {
    int provided = 0;
    int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status != MPI_SUCCESS) return status;
    // The CPU device's worker threads never call MPI, but the library must allow them to exist.
    if (provided < MPI_THREAD_FUNNELED) return MPI_ERR_OTHER;
    // A failed collective returns its code to the caller, who reports it and aborts the job,
    // instead of MPI's default of aborting with its own message.
    status = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (status != MPI_SUCCESS) return status;
    // glibc's line buffering needs a real buffer: with NULL it keeps the 1-byte one.
    static char buffer[BUFSIZ];
    setvbuf(stdout, buffer, _IOLBF, sizeof buffer);
    status = MPI_Comm_rank(MPI_COMM_WORLD, rank);
    if (status != MPI_SUCCESS) return status;
    return MPI_Comm_size(MPI_COMM_WORLD, size);
}

int fathom_mpi_local(int *rank, int *size) {
    MPI_Comm local;
    int status = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    if (status != MPI_SUCCESS) return status;
    status = MPI_Comm_rank(local, rank);
    if (status == MPI_SUCCESS) status = MPI_Comm_size(local, size);
    MPI_Comm_free(&local);
    return status;
}

int fathom_mpi_is_active(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

int fathom_mpi_finalize(void) { return MPI_Finalize(); }

void fathom_mpi_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

int fathom_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

int fathom_mpi_allreduce_float(float *values, int count, int op) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, reduction(op), MPI_COMM_WORLD);
}

int fathom_mpi_allreduce_double(double *values, int count, int op) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, reduction(op), MPI_COMM_WORLD);
}

int fathom_mpi_allgather(const void *send, int bytes, void *receive) {
    return MPI_Allgather(send, bytes, MPI_BYTE, receive, bytes, MPI_BYTE, MPI_COMM_WORLD);
}

int fathom_mpi_alltoall(const void *send, int bytes, void *receive) {
    return MPI_Alltoall(send, bytes, MPI_BYTE, receive, bytes, MPI_BYTE, MPI_COMM_WORLD);
}

int fathom_mpi_broadcast(void *buffer, int bytes, int root) {
    return MPI_Bcast(buffer, bytes, MPI_BYTE, root, MPI_COMM_WORLD);
}

void fathom_mpi_error_string(int code, char *text, int capacity) {
    if (capacity <= 0) return;
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, message, &length) != MPI_SUCCESS) length = snprintf(message, sizeof message, "MPI error %d", code);
    if (length >= capacity) length = capacity - 1;
    memcpy(text, message, (size_t)length);
    text[length] = 0;
}

void fathom_mpi_library_version(char *text, int capacity) {
    if (capacity <= 0) return;
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    // The first line only: Open MPI's string runs over several.
    int end = 0;
    while (end < length && version[end] != '\n' && version[end] != 0) end++;
    if (end >= capacity) end = capacity - 1;
    memcpy(text, version, (size_t)end);
    text[end] = 0;
}
