/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journald MESSAGE_IDs, one per event kind (made with systemd-id128 new). */
#pragma once

#define MG_MSGID_DENY	    "8fea160af5df4123855d19c359be5715" /* decision: deny (or would deny) */
#define MG_MSGID_ALLOW	    "deaca636081c458e9496eab040eb86bc" /* decision: allow */
#define MG_MSGID_REGISTER   "71c139a7b4f64168bc6b81af9a7af1ff" /* a service registered */
#define MG_MSGID_UNREGISTER "2c90fc0038c741f29542c6a11c9b6d5d" /* a service went away */
#define MG_MSGID_REFUSED    "c1c4f14e8e134e67ba2ba1a10df4e536" /* a registration was refused */
#define MG_MSGID_POLICY	    "04203faee5574f14a35810f6378dbd94" /* policy loaded / errors */
#define MG_MSGID_SUMMARY    "59392581deac48e4af143b46a6ec5a50" /* allows folded into one record */
#define MG_MSGID_PRESSURE   "63e5ba3959804843bba8767bca92da23" /* audit queue was full */
