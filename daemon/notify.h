/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Deciding one notified msgctl (declarations live in server.h). */
#pragma once
#include "server.h"
