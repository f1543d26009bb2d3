/*
 *  swarm.mod: a GRUB network protocol `(swarm,HOST:PORT)/…` that reads only bytes DeBoot's
 *  Rust core has verified against their Swarm reference, and a `swarm_verify FILE REF`
 *  command.
 *
 *  Copyright (C) 2026  DeBoot contributors
 *  Modelled on GRUB's grub-core/net/http.c,
 *  Copyright (C) 2010,2011  Free Software Foundation, Inc.
 *
 *  This program is free software: you can redistribute it and/or modify
 *  it under the terms of the GNU General Public License as published by
 *  the Free Software Foundation, either version 3 of the License, or
 *  (at your option) any later version.
 *
 *  This program is distributed in the hope that it will be useful,
 *  but WITHOUT ANY WARRANTY; without even the implied warranty of
 *  MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 *  GNU General Public License for more details.
 *
 *  You should have received a copy of the GNU General Public License
 *  along with this program.  If not, see <https://www.gnu.org/licenses/>.
 *
 *  SPDX-License-Identifier: GPL-3.0-or-later
 */

/*
 * Paths (after the device):
 *   /bzz/<ref>[/<path>]              a file in a manifest        -> bzz://<ref>/<path>
 *   /bytes/<ref>                     a file by its reference     -> bytes://<ref>
 *   /feed/<owner>/<topic>[/<path>]   a feed's newest update      -> feed://<owner>/<topic>/<path>
 * The node speaks DeBoot's framed protocol (DBCP, swarm-relay); default port 7070.
 *
 * The Rust core (deboot_grub_*) does the framing, resolution and verification; this shim
 * moves bytes between GRUB's TCP and the core, and queues for GRUB only what
 * deboot_grub_read returns, which is verified.  Any failure is a GRUB error carrying the
 * core's one-line text; a file read that hits it fails, so no loader gets a partial file.
 */

#include <grub/types.h>
#include <grub/misc.h>
#include <grub/mm.h>
#include <grub/dl.h>
#include <grub/err.h>
#include <grub/file.h>
#include <grub/env.h>
#include <grub/time.h>
#include <grub/command.h>
#include <grub/net.h>
#include <grub/net/tcp.h>
#include <grub/net/netbuff.h>

GRUB_MOD_LICENSE ("GPLv3+");

/* The Rust core (src/lib.rs). */
struct deboot_grub;
struct deboot_grub_hash;
extern struct deboot_grub *deboot_grub_open (const char *target, grub_size_t len, int *err);
extern void deboot_grub_close (struct deboot_grub *h);
extern const grub_uint8_t *deboot_grub_transmit (struct deboot_grub *h, grub_size_t *len);
extern void deboot_grub_sent (struct deboot_grub *h, grub_size_t n);
extern int deboot_grub_receive (struct deboot_grub *h, const grub_uint8_t *data, grub_size_t len);
extern grub_ssize_t deboot_grub_read (struct deboot_grub *h, grub_uint8_t *buf, grub_size_t len);
extern grub_int64_t deboot_grub_size (const struct deboot_grub *h);
extern int deboot_grub_finished (const struct deboot_grub *h);
extern int deboot_grub_may_send (const struct deboot_grub *h);
extern grub_size_t deboot_grub_error (const struct deboot_grub *h, char *buf, grub_size_t len);
extern struct deboot_grub_hash *deboot_grub_hash_new (void);
extern int deboot_grub_hash_write (struct deboot_grub_hash *h, const grub_uint8_t *data, grub_size_t len);
extern int deboot_grub_hash_finish (struct deboot_grub_hash *h, char *out, grub_size_t len);
extern void deboot_grub_hash_free (struct deboot_grub_hash *h);

/* Called by the Rust panic handler: never returns. */
void deboot_grub_panic (const char *msg, grub_size_t len);

void
deboot_grub_panic (const char *msg, grub_size_t len)
{
  static char text[161];
  static int panicking;
  if (panicking)
    /* A second panic while grub_fatal prints the first: GRUB's output path can poll the
       network and so re-enter the core.  */
    for (;;)
      ;
  panicking = 1;
  if (len > sizeof (text) - 1)
    len = sizeof (text) - 1;
  grub_memcpy (text, msg, len);
  text[len] = 0;
  grub_fatal ("%s\n", text);
}

enum
  {
    SWARM_PORT = 7070,
    /* Verified bytes per queued netbuff.  */
    SWARM_PIECE = 16384,
    /* Queued netbuffs above which no new chunk is requested (flow control: the reader
       drains them, packets_pulled asks for more).  */
    SWARM_MAX_QUEUED = 64,
    /* Queued netbuffs above which the poll loop returns to the reader.  */
    SWARM_STALL_QUEUED = 8,
    /* Without any progress for this long, the fetch fails.  */
    SWARM_IDLE_MS = 30000,
    SWARM_ERR_LEN = 200,
    SWARM_PAGE = 4096
  };

/* Memory this module writes while a file streams (its state, the read buffer, the
   netbuffs the core fills, and the core's own allocations through its allocator) gets pages
   of its own.  Under QEMU's TCG emulator a write to a page that also holds translated code
   takes a slow path and may throw that code away, and GRUB's heap puts module code next to
   data: with the buffers placed by chance, the hash-only read of 8 MiB took 0.71-0.95 s in
   some builds and runs instead of 0.62-0.66 s.  The module's code starts on a page of its
   own for the same reason (build-mod.sh aligns .text).  At most a page more per
   allocation: a handful per file, plus one per queued netbuff of SWARM_PIECE bytes.  Not
   zeroed: callers that need zeros clear what they use.  */
static void *
swarm_page_alloc (grub_size_t size)
{
  return grub_memalign (SWARM_PAGE, ALIGN_UP (size, SWARM_PAGE));
}

/* An empty netbuff of SWARM_PIECE bytes on pages of its own, laid out as
   grub_netbuff_alloc() does (data, then the header), so grub_netbuff_free() frees it.  */
static struct grub_net_buff *
swarm_netbuff_alloc (void)
{
  grub_uint8_t *mem = swarm_page_alloc (SWARM_PIECE + sizeof (struct grub_net_buff));
  struct grub_net_buff *nb;

  if (!mem)
    return NULL;
  nb = (struct grub_net_buff *) (mem + SWARM_PIECE);
  nb->head = nb->data = nb->tail = mem;
  nb->end = (grub_uint8_t *) nb;
  return nb;
}

typedef struct swarm_data
{
  struct deboot_grub *h;
  grub_net_tcp_socket_t sock;
  grub_file_t file;
  int failed;
  int ready;			/* size known, or failed: ends the open poll */
  grub_uint64_t last_progress;
  char err[SWARM_ERR_LEN];
  struct grub_net_buff *spare;	/* empty netbuff of SWARM_PIECE bytes, the next to fill */
} *swarm_data_t;

static void
swarm_fail (swarm_data_t data, const char *why)
{
  grub_net_t net = data->file->device->net;
  if (!data->failed)
    {
      data->failed = 1;
      if (why)
	grub_strncpy (data->err, why, sizeof (data->err) - 1);
      else if (data->h && deboot_grub_error (data->h, data->err, sizeof (data->err)) == 0)
	grub_strcpy (data->err, "fetch failed");
    }
  data->ready = 1;
  net->eof = 1;
  net->stall = 1;
  if (data->sock)
    grub_net_tcp_close (data->sock, GRUB_NET_TCP_ABORT);
  data->sock = 0;
}

/* Sends what the core has queued (the handshake, then a batch of chunk requests, at most
   one TCP segment), but only once the node has answered a request of the batch sent before:
   then its TCP has acknowledged all our segments, and GRUB 2.06's TCP never holds more than
   one unacknowledged segment of ours.  Its tcp_send() appends to the retransmission list
   without advancing unack_last, which dangles after the first acknowledgement: a second
   outstanding segment would make the next send write into freed memory (seen as "free
   magic is broken" and a crash).  */
static void
swarm_send (swarm_data_t data)
{
  const grub_uint8_t *p;
  grub_size_t len;
  struct grub_net_buff *nb;
  grub_err_t err;

  if (!data->sock || data->failed)
    return;
  if (!deboot_grub_may_send (data->h))
    return;
  if (data->file->device->net->packs.count >= SWARM_MAX_QUEUED)
    return;
  p = deboot_grub_transmit (data->h, &len);
  if (!len)
    return;
  nb = grub_netbuff_alloc (GRUB_NET_TCP_RESERVE_SIZE + len);
  if (!nb)
    {
      grub_errno = GRUB_ERR_NONE;
      swarm_fail (data, "out of memory");
      return;
    }
  grub_netbuff_reserve (nb, GRUB_NET_TCP_RESERVE_SIZE);
  grub_netbuff_put (nb, len);
  grub_memcpy (nb->data, p, len);
  err = grub_net_send_tcp_packet (data->sock, nb, 1);
  if (err)
    {
      grub_errno = GRUB_ERR_NONE;
      swarm_fail (data, "cannot send to the node");
      return;
    }
  deboot_grub_sent (data->h, len);
}

/* Moves every verified byte the core has into netbuffs queued for GRUB's reader.  */
static void
swarm_drain (swarm_data_t data)
{
  grub_net_t net = data->file->device->net;

  while (!data->failed)
    {
      struct grub_net_buff *nb;
      grub_ssize_t n;
      /* The core copies verified bytes straight into the netbuff queued for the reader; an
	 unused one is kept for the next call.  */
      if (!data->spare)
	data->spare = swarm_netbuff_alloc ();
      nb = data->spare;
      if (!nb)
	{
	  grub_errno = GRUB_ERR_NONE;
	  swarm_fail (data, "out of memory");
	  return;
	}
      n = deboot_grub_read (data->h, nb->data, SWARM_PIECE);
      if (n <= 0)
	{
	  if (n < 0)
	    swarm_fail (data, NULL);
	  break;
	}
      data->spare = 0;
      grub_netbuff_put (nb, n);
      if (grub_net_put_packet (&net->packs, nb))
	{
	  grub_netbuff_free (nb);
	  grub_errno = GRUB_ERR_NONE;
	  swarm_fail (data, "out of memory");
	  return;
	}
      data->last_progress = grub_get_time_ms ();
    }
  if (data->failed)
    return;
  if (deboot_grub_size (data->h) >= 0)
    data->ready = 1;
  if (deboot_grub_finished (data->h))
    {
      net->eof = 1;
      net->stall = 1;
      if (data->sock)
	grub_net_tcp_close (data->sock, GRUB_NET_TCP_ABORT);
      data->sock = 0;
    }
  else if (net->packs.count >= SWARM_STALL_QUEUED)
    net->stall = 1;
}

static grub_err_t
swarm_receive (grub_net_tcp_socket_t sock __attribute__ ((unused)),
	       struct grub_net_buff *nb, void *f)
{
  grub_file_t file = f;
  swarm_data_t data = file->data;

  if (!data || !data->sock || data->failed)
    {
      grub_netbuff_free (nb);
      return GRUB_ERR_NONE;
    }
  data->last_progress = grub_get_time_ms ();
  if (deboot_grub_receive (data->h, nb->data, nb->tail - nb->data) < 0)
    {
      grub_netbuff_free (nb);
      swarm_fail (data, NULL);
      return GRUB_ERR_NONE;
    }
  grub_netbuff_free (nb);
  swarm_drain (data);
  swarm_send (data);
  return GRUB_ERR_NONE;
}

static void
swarm_tcp_error (grub_net_tcp_socket_t sock __attribute__ ((unused)), void *f)
{
  grub_file_t file = f;
  swarm_data_t data = file->data;
  if (data && !data->failed && !deboot_grub_finished (data->h))
    {
      data->sock = 0;
      swarm_fail (data, "the connection to the node failed");
    }
}

static void
swarm_tcp_fin (grub_net_tcp_socket_t sock __attribute__ ((unused)), void *f)
{
  grub_file_t file = f;
  swarm_data_t data = file->data;
  if (data && !data->failed && !deboot_grub_finished (data->h))
    swarm_fail (data, "the node closed the connection");
}

/* "/bzz/REF/PATH" -> "bzz://REF/PATH" (and bytes, feed); NULL if the scheme is unknown.  */
static char *
swarm_target (const char *filename)
{
  static const char *const schemes[] = { "bzz", "bytes", "feed" };
  unsigned i;
  while (*filename == '/')
    filename++;
  for (i = 0; i < ARRAY_SIZE (schemes); i++)
    {
      grub_size_t n = grub_strlen (schemes[i]);
      if (grub_strncmp (filename, schemes[i], n) == 0
	  && (filename[n] == '/' || filename[n] == 0))
	return grub_xasprintf ("%s://%s", schemes[i],
			       filename[n] ? filename + n + 1 : "");
    }
  return NULL;
}

static void
swarm_free (grub_file_t file)
{
  swarm_data_t data = file->data;
  if (!data)
    return;
  if (data->sock)
    grub_net_tcp_close (data->sock, GRUB_NET_TCP_ABORT);
  if (data->h)
    deboot_grub_close (data->h);
  if (data->spare)
    grub_netbuff_free (data->spare);
  grub_free (data);
  file->data = 0;
}

static grub_err_t
swarm_open (struct grub_file *file, const char *filename)
{
  swarm_data_t data;
  char *target;
  int code = 0;
  grub_net_t net = file->device->net;
  int port = net->port ? net->port : SWARM_PORT;

  target = swarm_target (filename);
  if (!target)
    return grub_error (GRUB_ERR_BAD_FILENAME,
		       "swarm: `%s' is not /bzz/REF[/PATH], /bytes/REF or /feed/OWNER/TOPIC[/PATH]",
		       filename);
  data = swarm_page_alloc (sizeof (*data));
  if (!data)
    {
      grub_free (target);
      return grub_errno;
    }
  grub_memset (data, 0, sizeof (*data));
  data->file = file;
  data->h = deboot_grub_open (target, grub_strlen (target), &code);
  if (!data->h)
    {
      grub_free (data);
      grub_error (code == 1 ? GRUB_ERR_BAD_FILENAME : GRUB_ERR_OUT_OF_MEMORY,
		  code == 1 ? "swarm: bad target `%s'" : "swarm: out of memory for `%s'",
		  target);
      grub_free (target);
      return grub_errno;
    }
  grub_free (target);
  file->size = GRUB_FILE_SIZE_UNKNOWN;
  file->not_easily_seekable = 0;
  file->data = data;

  data->sock = grub_net_tcp_open (net->server, port, swarm_receive, swarm_tcp_error,
				  swarm_tcp_fin, file);
  if (!data->sock)
    {
      char why[SWARM_ERR_LEN];
      grub_strncpy (why, grub_errmsg, sizeof (why) - 1);
      why[sizeof (why) - 1] = 0;
      swarm_free (file);
      return grub_error (GRUB_ERR_NET_NO_ANSWER, "swarm: cannot connect to %s:%d: %s",
			 net->server, port, why);
    }
  data->last_progress = grub_get_time_ms ();
  swarm_send (data);
  /* Until the root chunk is verified (the size is then exact), or failure.  */
  while (!data->ready && grub_get_time_ms () - data->last_progress < SWARM_IDLE_MS)
    {
      grub_net_tcp_retransmit ();
      grub_net_poll_cards (200, &data->ready);
    }
  if (!data->failed && !data->ready)
    swarm_fail (data, "no answer from the node");
  if (data->failed)
    {
      char why[SWARM_ERR_LEN];
      grub_memcpy (why, data->err, sizeof (why));
      why[sizeof (why) - 1] = 0;
      while (net->packs.first)
	{
	  grub_netbuff_free (net->packs.first->nb);
	  grub_net_remove_packet (net->packs.first);
	}
      swarm_free (file);
      return grub_error (GRUB_ERR_FILE_READ_ERROR, "swarm: %s (%s)", why, filename);
    }
  file->size = deboot_grub_size (data->h);
  net->stall = 0;
  if (!net->eof)
    net->stall = net->packs.count >= SWARM_STALL_QUEUED;
  return GRUB_ERR_NONE;
}

static grub_err_t
swarm_close (struct grub_file *file)
{
  swarm_free (file);
  return GRUB_ERR_NONE;
}

/* After GRUB's reader took queued bytes: raise a failure once nothing verified is left,
   otherwise ask for more and keep the connection alive.  */
static grub_err_t
swarm_packets_pulled (struct grub_file *file)
{
  swarm_data_t data = file->data;
  grub_net_t net = file->device->net;

  if (!data)
    return GRUB_ERR_NONE;
  if (data->failed)
    {
      if (!net->packs.first)
	grub_error (GRUB_ERR_FILE_READ_ERROR, "swarm: %s (%s)", data->err, net->name);
      return GRUB_ERR_NONE;
    }
  if (net->eof)
    return GRUB_ERR_NONE;
  if (net->packs.count < SWARM_STALL_QUEUED)
    net->stall = 0;
  if (grub_get_time_ms () - data->last_progress >= SWARM_IDLE_MS)
    {
      swarm_fail (data, "no answer from the node");
      if (!net->packs.first)
	grub_error (GRUB_ERR_FILE_READ_ERROR, "swarm: %s (%s)", data->err, net->name);
      return GRUB_ERR_NONE;
    }
  swarm_send (data);
  grub_net_tcp_retransmit ();
  return GRUB_ERR_NONE;
}

static struct grub_net_app_protocol grub_swarm_protocol =
  {
    .name = "swarm",
    .open = swarm_open,
    .close = swarm_close,
    .packets_pulled = swarm_packets_pulled
  };

/* Reads FILE to its end in 64 KiB blocks, feeding each block to H unless H is NULL; its
   length in *TOTAL.  A file that ends before its announced size is an error, named after CMD.
   Returns grub_errno.  */
static grub_err_t
swarm_read_file (const char *cmd, const char *name, struct deboot_grub_hash *h,
		 grub_uint64_t *total)
{
  grub_file_t file;
  grub_uint8_t *buf;
  grub_ssize_t n;
  enum { BUF_LEN = 65536 };

  *total = 0;
  buf = swarm_page_alloc (BUF_LEN);
  if (!buf)
    return grub_errno;
  file = grub_file_open (name, GRUB_FILE_TYPE_TO_HASH | GRUB_FILE_TYPE_NO_DECOMPRESS);
  if (!file)
    {
      grub_free (buf);
      return grub_errno;
    }
  while ((n = grub_file_read (file, buf, BUF_LEN)) > 0)
    {
      *total += n;
      if (h && deboot_grub_hash_write (h, buf, n) < 0)
	{
	  n = -2;
	  break;
	}
    }
  if (n < 0 && !grub_errno)
    grub_error (GRUB_ERR_FILE_READ_ERROR, "%s: cannot read `%s'", cmd, name);
  else if (n == 0 && !grub_errno && file->size != GRUB_FILE_SIZE_UNKNOWN
	   && *total != file->size)
    grub_error (GRUB_ERR_FILE_READ_ERROR, "%s: `%s' ended after %llu of %llu bytes", cmd, name,
		(unsigned long long) *total, (unsigned long long) file->size);
  grub_file_close (file);
  grub_free (buf);
  return grub_errno;
}

/* swarm_verify FILE REF: recomputes FILE's Swarm reference (the root of its chunk tree) while
   reading it through GRUB's file API; sets $swarm_verify_result; fails if it is not REF.  */
static grub_err_t
grub_cmd_swarm_verify (grub_command_t cmd __attribute__ ((unused)), int argc, char **args)
{
  struct deboot_grub_hash *h;
  grub_uint64_t total;
  char hex[65];

  if (argc != 2 && argc != 1)
    return grub_error (GRUB_ERR_BAD_ARGUMENT, "usage: swarm_verify FILE [REF]");
  h = deboot_grub_hash_new ();
  if (swarm_read_file ("swarm_verify", args[0], h, &total))
    {
      deboot_grub_hash_free (h);
      return grub_errno;
    }
  if (deboot_grub_hash_finish (h, hex, sizeof (hex)) < 0)
    return grub_error (GRUB_ERR_BUG, "swarm_verify: no reference for `%s'", args[0]);
  grub_env_set ("swarm_verify_result", hex);
  if (argc == 1)
    {
      grub_printf ("swarm_verify: %llu bytes\n%s\n", (unsigned long long) total, hex);
      return GRUB_ERR_NONE;
    }
  if (grub_strcasecmp (hex, args[1]) != 0)
    return grub_error (GRUB_ERR_BAD_SIGNATURE,
		       "swarm_verify: `%s' has reference %s, not %s", args[0], hex, args[1]);
  grub_printf ("swarm_verify: %llu bytes OK\n", (unsigned long long) total);
  return GRUB_ERR_NONE;
}

/* swarm_read FILE: reads FILE to its end and discards it (a transfer check and benchmark;
   through (swarm,…) that is a verified fetch).  */
static grub_err_t
grub_cmd_swarm_read (grub_command_t cmd __attribute__ ((unused)), int argc, char **args)
{
  grub_uint64_t total;

  if (argc != 1)
    return grub_error (GRUB_ERR_BAD_ARGUMENT, "usage: swarm_read FILE");
  if (swarm_read_file ("swarm_read", args[0], NULL, &total))
    return grub_errno;
  grub_printf ("swarm_read: %llu bytes\n", (unsigned long long) total);
  return GRUB_ERR_NONE;
}

static grub_command_t cmd_verify, cmd_read;

GRUB_MOD_INIT (swarm)
{
  grub_net_app_level_register (&grub_swarm_protocol);
  cmd_verify = grub_register_command ("swarm_verify", grub_cmd_swarm_verify, "FILE [REF]",
				      "Compute FILE's Swarm reference; fail unless it is REF.");
  cmd_read = grub_register_command ("swarm_read", grub_cmd_swarm_read, "FILE",
				    "Read FILE to its end (a transfer check).");
}

GRUB_MOD_FINI (swarm)
{
  grub_unregister_command (cmd_read);
  grub_unregister_command (cmd_verify);
  grub_net_app_level_unregister (&grub_swarm_protocol);
}
