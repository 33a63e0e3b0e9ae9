#ifndef FATHOM_CMPI_SHIM_H
#define FATHOM_CMPI_SHIM_H
// MPICH by default, Open MPI with FATHOM_MPI=openmpi at build time (Package.swift picks the
// pkg-config module); the libraries come from pkg-config, so there is no link line here.
#include <mpi.h>
#endif
