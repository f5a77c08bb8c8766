/*
 * libfastrelay — umbrella header. Include this one.
 */
#ifndef FASTRELAY_H
#define FASTRELAY_H

#include <fastrelay/common.h>
#include <fastrelay/version.h>
#include <fastrelay/error.h>
#include <fastrelay/log.h>
#include <fastrelay/quic.h>
#include <fastrelay/quic_ev.h>
#include <fastrelay/moq.h>
#include <fastrelay/cache.h>
#include <fastrelay/relay.h>
#include <fastrelay/fastpath.h>

#endif /* FASTRELAY_H */
