#ifndef FATHOM_MPI_H
#define FATHOM_MPI_H
// The MPI calls Fathom makes, as plain C functions: MPI's handles and constants (MPI_COMM_WORLD,
// MPI_SUM, MPI_IN_PLACE, ...) are macros, and MPICH's are integers where Open MPI's are pointers,
// so Swift sees only this header, which does not include mpi.h. Every function works on
// MPI_COMM_WORLD, whose error handler is MPI_ERRORS_RETURN, and returns MPI's error code
// (0: success).
#include <stddef.h>
#include <stdint.h>

/// Reductions of fathom_mpi_allreduce_*.
enum { FATHOM_MPI_SUM = 0, FATHOM_MPI_MAX = 1, FATHOM_MPI_MIN = 2 };

/// MPI_Init_thread (funneled) and the world's rank and size; stdout line-buffered again (MPICH
/// makes it unbuffered, which splits lines of different ranks).
int fathom_mpi_init(int *rank, int *size);
/// This rank's index among the world's ranks on its machine (MPI_COMM_TYPE_SHARED), and their count.
int fathom_mpi_local(int *rank, int *size);
/// Whether MPI_Init has run and MPI_Finalize has not.
int fathom_mpi_is_active(void);
int fathom_mpi_finalize(void);
/// Ends every rank of the job with `code`.
void fathom_mpi_abort(int code);
int fathom_mpi_barrier(void);
int fathom_mpi_allreduce_float(float *values, int count, int op);
int fathom_mpi_allreduce_double(double *values, int count, int op);
/// `receive` holds size × `bytes`, rank r's `send` at r × `bytes`.
int fathom_mpi_allgather(const void *send, int bytes, void *receive);
/// `send` holds size blocks of `bytes`, block q for rank q; `receive` gets block r of rank q at q × `bytes`.
int fathom_mpi_alltoall(const void *send, int bytes, void *receive);
int fathom_mpi_broadcast(void *buffer, int bytes, int root);
/// MPI's text for an error code, NUL-terminated into `text` (at most `capacity` bytes).
void fathom_mpi_error_string(int code, char *text, int capacity);
/// The library's version line (MPI_Get_library_version), NUL-terminated.
void fathom_mpi_library_version(char *text, int capacity);

#endif
