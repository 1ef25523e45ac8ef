/*
 * s3.c — the S3 artifact client (see s3.h for the contract).
 *
 * One libcurl easy handle per client, reused so that requests share a
 * connection.  Every request goes through do_request(), which signs it
 * (CURLOPT_AWS_SIGV4 with an explicit x-amz-content-sha256, the hash curl
 * then signs), retries it under the rule of util/retry.h and turns the
 * outcome into a tc_error.  The body of a request comes from memory or from
 * a range of a file read with pread(), so a retry simply starts over.
 *
 * libcurl signs the path and query as given, so this file builds them in
 * SigV4's canonical form: keys percent-encoded except for unreserved
 * characters and '/', query parameters sorted, each with an '='.
 */
#include "artifacts/s3.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/fsutil.h"
#include "util/retry.h"

#define BACKOFF_START 0.25 /* seconds before the first retry */
#define BACKOFF_CAP 4.0
#define PART_SIZE (16ull << 20) /* multipart: at least this much a part */
#define MAX_WAIT 60.0		/* longest Retry-After honoured, seconds */
#define MAX_PARTS 10000		/* S3's limit */
#define MAX_XML (8u << 20)	/* largest XML answer kept in memory */
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct tc_s3 {
	char *bucket, *prefix; /* prefix: "" or "a/b" (no trailing '/') */
	char *endpoint;	       /* scheme://host[:port], no trailing '/' */
	char *region;
	char *userpwd;	       /* "id:secret" for libcurl; wiped on free */
	char *token_hdr;       /* "x-amz-security-token: ..." or NULL */
	char *sigv4;	       /* "aws:amz:REGION:s3" */
	CURL *curl;
	uint64_t rng; /* backoff jitter */
};

/* ---- small helpers ------------------------------------------------------ */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* malloc'd printf. */
static char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static void wipe_free(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

static void to_hex(const unsigned char *md, unsigned n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* Growable byte buffer for XML answers and bodies. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap)))
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Percent-encode s into b as SigV4 wants: unreserved characters stay, '/'
 * stays when keep_slash. */
static int buf_uri(struct buf *b, const char *s, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' ||
		    *c == '~' || (keep_slash && *c == '/')) {
			if (buf_add(b, c, 1) < 0)
				return -1;
		} else {
			char e[3] = {'%', digits[*c >> 4], digits[*c & 15]};

			if (buf_add(b, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}

/* Add &amp; etc. for the XML text s. */
static int buf_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&apos;"; break;
		}
		if (e ? buf_str(b, e) : buf_add(b, s, 1))
			return -1;
	}
	return 0;
}

/*
 * The text of the first <tag>...</tag> at or after *pos in xml, with the
 * five predefined entities and numeric references decoded, malloc'd; *pos
 * moves past it.  NULL when there is none.  S3's answers are flat enough
 * for this: the elements read here never nest in themselves.
 */
static char *xml_text(const char *xml, const char *tag, const char **pos)
{
	char open[64], close[64];
	const char *a, *z;
	char *out, *o;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if (!xml || !(a = strstr(pos && *pos ? *pos : xml, open)))
		return NULL;
	a += strlen(open);
	if (!(z = strstr(a, close)))
		return NULL;
	if (pos)
		*pos = z + strlen(close);
	if (!(out = o = malloc((size_t)(z - a) + 1)))
		return NULL;
	while (a < z) {
		static const struct {
			const char *e;
			char c;
		} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
			    {"&quot;", '"'}, {"&apos;", '\''}};
		int done = 0;

		if (*a == '&') {
			for (size_t i = 0; i < sizeof ents / sizeof *ents; i++) {
				size_t n = strlen(ents[i].e);

				if ((size_t)(z - a) >= n &&
				    !strncmp(a, ents[i].e, n)) {
					*o++ = ents[i].c;
					a += n;
					done = 1;
					break;
				}
			}
			if (!done && a[1] == '#') {
				char *end;
				long v = a[2] == 'x'
						 ? strtol(a + 3, &end, 16)
						 : strtol(a + 2, &end, 10);

				if (end < z && *end == ';' && v > 0 &&
				    v < 128) {
					*o++ = (char)v;
					a = end + 1;
					done = 1;
				}
			}
		}
		if (!done)
			*o++ = *a++;
	}
	*o = '\0';
	return out;
}

/* ---- opening: URL, endpoint, credentials -------------------------------- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * The profile's keys from the shared credentials file (an INI file:
 * "[name]" sections of "key = value" lines).  0 found, 1 file or profile
 * missing, <0 error.  *id, *secret, *token are malloc'd.
 */
static int read_credentials_file(const char *path, const char *profile,
				 char **id, char **secret, char **token,
				 struct tc_error *err)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int in = 0, found = 0;

	if (tc_read_file(path, 1 << 20, &text, &len) < 0) {
		if (errno == ENOENT)
			return 1;
		return tc_error_set(err, TC_ERR_IO,
				    "cannot read the AWS credentials file %s: %s",
				    path, strerror(errno));
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line), *eq;

		if (*l == '#' || *l == ';' || !*l)
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');

			if (e)
				*e = '\0';
			in = !strcmp(trim(l + 1), profile);
			found |= in;
			continue;
		}
		if (!in || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1), **dst = NULL;

		if (!strcmp(k, "aws_access_key_id"))
			dst = id;
		else if (!strcmp(k, "aws_secret_access_key"))
			dst = secret;
		else if (!strcmp(k, "aws_session_token"))
			dst = token;
		if (dst) {
			wipe_free(*dst);
			*dst = strdup(v);
		}
	}
	OPENSSL_cleanse(text, len);
	free(text);
	return found ? 0 : 1;
}

static int load_credentials(struct tc_s3 *s, struct tc_error *err)
{
	char *id = NULL, *secret = NULL, *token = NULL, *path = NULL;
	const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
	int rc = 0;

	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		id = strdup(env("AWS_ACCESS_KEY_ID"));
		secret = strdup(env("AWS_SECRET_ACCESS_KEY"));
		token = xstrdup(env("AWS_SESSION_TOKEN"));
	} else {
		if (env("AWS_SHARED_CREDENTIALS_FILE"))
			path = strdup(env("AWS_SHARED_CREDENTIALS_FILE"));
		else if (env("HOME"))
			path = xasprintf("%s/.aws/credentials", env("HOME"));
		if (path)
			rc = read_credentials_file(path, profile, &id, &secret,
						   &token, err);
		if (rc < 0)
			goto out;
		if (!id || !secret) {
			rc = tc_error_set(
				err, TC_ERR_USAGE,
				"no S3 credentials: set AWS_ACCESS_KEY_ID and "
				"AWS_SECRET_ACCESS_KEY, or add the profile "
				"'%s' to %s (AWS_PROFILE, "
				"AWS_SHARED_CREDENTIALS_FILE)",
				profile, path ? path : "~/.aws/credentials");
			goto out;
		}
	}
	if (!id || !secret || !(s->userpwd = xasprintf("%s:%s", id, secret)) ||
	    (token && !(s->token_hdr = xasprintf("x-amz-security-token: %s",
						   token)))) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strchr(id, ':')) {
		/* libcurl splits "id:secret" at the first ':' */
		rc = tc_error_set(err, TC_ERR_USAGE,
				  "the AWS access key id contains ':'");
		goto out;
	}
	rc = 0;
out:
	wipe_free(id);
	wipe_free(secret);
	wipe_free(token);
	free(path);
	return rc;
}

int tc_s3_open(struct tc_s3 **out, const char *url, const char *endpoint,
	       const char *region, struct tc_error *err)
{
	struct tc_s3 *s;
	const char *b, *slash;
	int rc;

	*out = NULL;
	if (!url || strncmp(url, "s3://", 5) || !url[5] || url[5] == '/')
		return tc_error_set(err, TC_ERR_USAGE,
				    "'%s' is not an S3 URL: write "
				    "s3://BUCKET or s3://BUCKET/PREFIX",
				    url ? url : "");
	if (!(s = calloc(1, sizeof *s)))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	b = url + 5;
	slash = strchr(b, '/');
	s->bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
	s->prefix = strdup(slash ? slash + 1 : "");
	if (!s->bucket || !s->prefix)
		goto nomem;
	for (size_t n = strlen(s->prefix); n && s->prefix[n - 1] == '/'; n--)
		s->prefix[n - 1] = '\0';
	for (const char *c = s->bucket; *c; c++)
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
		      *c == '-' || *c == '.')) {
			rc = tc_error_set(err, TC_ERR_USAGE,
					  "'%s' is not a valid bucket name "
					  "(lower-case letters, digits, '-', '.')",
					  s->bucket);
			goto fail;
		}

	if (!region)
		region = env("AWS_REGION") ? env("AWS_REGION")
					   : env("AWS_DEFAULT_REGION");
	s->region = strdup(region ? region : "us-east-1");
	if (!endpoint)
		endpoint = env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3")
						      : env("AWS_ENDPOINT_URL");
	s->endpoint = endpoint ? strdup(endpoint)
			       : xasprintf("https://s3.%s.amazonaws.com",
					   s->region ? s->region : "");
	s->sigv4 = xasprintf("aws:amz:%s:s3", s->region ? s->region : "");
	if (!s->region || !s->endpoint || !s->sigv4)
		goto nomem;
	for (size_t n = strlen(s->endpoint); n && s->endpoint[n - 1] == '/'; n--)
		s->endpoint[n - 1] = '\0';
	if ((strncmp(s->endpoint, "http://", 7) &&
	     strncmp(s->endpoint, "https://", 8)) ||
	    strchr(strstr(s->endpoint, "//") + 2, '/') ||
	    strchr(s->endpoint, '@')) {
		rc = tc_error_set(err, TC_ERR_USAGE,
				  "'%s' is not an S3 endpoint: write "
				  "http(s)://HOST[:PORT], with no path",
				  s->endpoint);
		goto fail;
	}
	if ((rc = load_credentials(s, err)) < 0)
		goto fail;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(s->curl = curl_easy_init()))
		goto nomem;
	s->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		 (uint64_t)(uintptr_t)s;
	*out = s;
	return 0;
nomem:
	rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
fail:
	tc_s3_free(s);
	return rc;
}

void tc_s3_free(struct tc_s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	wipe_free(s->userpwd);
	wipe_free(s->token_hdr);
	free(s->bucket);
	free(s->prefix);
	free(s->endpoint);
	free(s->region);
	free(s->sigv4);
	free(s);
}

const char *tc_s3_bucket(const struct tc_s3 *s)
{
	return s->bucket;
}

const char *tc_s3_prefix(const struct tc_s3 *s)
{
	return s->prefix;
}

/* The full object key for a key relative to the prefix, malloc'd. */
static char *full_key(const struct tc_s3 *s, const char *key)
{
	while (*key == '/')
		key++;
	if (!*s->prefix)
		return strdup(key);
	return xasprintf("%s/%s", s->prefix, key);
}

/* ENDPOINT/bucket[/key][?query], key encoded; query already canonical. */
static char *make_url(const struct tc_s3 *s, const char *fkey,
		      const char *query)
{
	struct buf b = {0};

	if (buf_str(&b, s->endpoint) || buf_str(&b, "/") ||
	    buf_uri(&b, s->bucket, 0) ||
	    (fkey && (buf_str(&b, "/") || buf_uri(&b, fkey, 1))) ||
	    (query && (buf_str(&b, "?") || buf_str(&b, query)))) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- one request, with retries ------------------------------------------ */

struct req {
	/* in */
	const char *method;	 /* GET PUT HEAD POST DELETE */
	const char *what;	 /* for messages: "upload of bucket/key" */
	const char *payload_sha; /* hex SHA-256 of the body (NULL: empty) */
	struct curl_slist *hdrs; /* extra headers (owned by the caller) */
	const char *mem;	 /* body from memory, */
	size_t mem_len;
	int in_fd; /* or from in_fd at in_off, in_len bytes */
	uint64_t in_off, in_len;
	int out_fd; /* answer body to out_fd (a GET), else to resp */
	/* progress of one attempt */
	uint64_t sent;
	EVP_MD_CTX *sha, *md5; /* hashes of what went to out_fd */
	int write_failed;
	/* out */
	long status;
	struct buf resp;
	char etag[80];
	char meta_sha[72];
	uint64_t length;
	int have_length;
	double retry_after; /* seconds the server asked to wait, or 0 */
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	size_t want = size * n;
	ssize_t got;

	if (r->mem) {
		if (want > r->mem_len - r->sent)
			want = r->mem_len - r->sent;
		memcpy(p, r->mem + r->sent, want);
		r->sent += want;
		return want;
	}
	if (want > r->in_len - r->sent)
		want = (size_t)(r->in_len - r->sent);
	if (!want)
		return 0;
	do
		got = pread(r->in_fd, p, want, (off_t)(r->in_off + r->sent));
	while (got < 0 && errno == EINTR);
	if (got <= 0) /* the file shrank or failed: never send short data */
		return CURL_READFUNC_ABORT;
	r->sent += (uint64_t)got;
	return (size_t)got;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	size_t len = size * n;

	if (r->out_fd >= 0 && r->status / 100 == 2) {
		for (size_t done = 0; done < len;) {
			ssize_t w = write(r->out_fd, p + done, len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r->write_failed = errno ? errno : EIO;
				return 0;
			}
			done += (size_t)w;
		}
		EVP_DigestUpdate(r->sha, p, len);
		EVP_DigestUpdate(r->md5, p, len);
		return len;
	}
	if (r->resp.len + len > MAX_XML)
		return len; /* an answer this big is not one we read */
	return buf_add(&r->resp, p, len) ? 0 : len;
}

/* Copy header value (trimmed) into dst if line is "name: value". */
static void header_value(const char *line, size_t len, const char *name,
			 char *dst, size_t dlen)
{
	size_t nl = strlen(name), i;

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	i = len < dlen - 1 ? len : dlen - 1;
	memcpy(dst, line, i);
	dst[i] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	size_t len = size * n;
	char num[32] = "";

	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new answer (after a 100 Continue, say) */
		r->etag[0] = r->meta_sha[0] = '\0';
		r->have_length = 0;
		r->retry_after = 0;
		char *sp = memchr(p, ' ', len);

		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	header_value(p, len, "etag", r->etag, sizeof r->etag);
	header_value(p, len, "x-amz-meta-sha256", r->meta_sha,
		     sizeof r->meta_sha);
	header_value(p, len, "retry-after", num, sizeof num);
	if (*num) {
		char *end;
		double v = strtod(num, &end);

		/* seconds only; an HTTP date leaves the backoff alone */
		if (end != num && !*end && v > 0 && v < 3600)
			r->retry_after = v;
		*num = '\0';
	}
	header_value(p, len, "content-length", num, sizeof num);
	if (*num) {
		char *end;
		unsigned long long v = strtoull(num, &end, 10);

		if (!*end) {
			r->length = v;
			r->have_length = 1;
		}
	}
	return len;
}

/* Prepare r for another attempt. */
static int reset_attempt(struct req *r)
{
	r->sent = 0;
	r->status = 0;
	r->resp.len = 0;
	if (r->resp.p)
		r->resp.p[0] = '\0';
	r->etag[0] = r->meta_sha[0] = '\0';
	r->have_length = 0;
	r->retry_after = 0;
	r->write_failed = 0;
	if (r->out_fd >= 0) {
		if (ftruncate(r->out_fd, 0) < 0 ||
		    lseek(r->out_fd, 0, SEEK_SET) < 0)
			return -1;
		EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL);
		EVP_DigestInit_ex(r->md5, EVP_md5(), NULL);
	}
	return 0;
}

/* The S3 error code and message of an error answer, into buf. */
static void s3_error_text(const struct req *r, char *buf, size_t len)
{
	char *code = xml_text(r->resp.p, "Code", NULL);
	char *msg = xml_text(r->resp.p, "Message", NULL);

	if (code && msg)
		snprintf(buf, len, "%s: %s", code, msg);
	else if (code)
		snprintf(buf, len, "%s", code);
	else
		snprintf(buf, len, "HTTP %ld", r->status);
	free(code);
	free(msg);
}

/*
 * Send r to url: up to TC_S3_ATTEMPTS tries while the failure is one that
 * util/retry.h retries.  Returns 0 when the server answered (any status, in
 * r->status), or TC_ERR_BACKEND (unreachable, or still 5xx after the
 * retries), TC_ERR_IO (the local file failed), TC_ERR_NOMEM.
 */
static int do_request(struct tc_s3 *s, struct req *r, const char *url,
		      struct tc_error *err)
{
	char errbuf[CURL_ERROR_SIZE];
	char shahdr[100];
	struct curl_slist *hdrs = NULL, *h;
	CURL *c = s->curl;
	CURLcode rc = CURLE_OK;
	int attempt;

	snprintf(shahdr, sizeof shahdr, "x-amz-content-sha256: %s",
		 r->payload_sha ? r->payload_sha : EMPTY_SHA256);
	if (!(hdrs = curl_slist_append(hdrs, shahdr)) ||
	    (s->token_hdr && !curl_slist_append(hdrs, s->token_hdr)))
		goto nomem;
	for (h = r->hdrs; h; h = h->next)
		if (!curl_slist_append(hdrs, h->data))
			goto nomem;

	for (attempt = 1;; attempt++) {
		if (reset_attempt(r) < 0) {
			curl_slist_free_all(hdrs);
			return tc_error_set(err, TC_ERR_IO,
					    "%s: cannot rewind the local file: %s",
					    r->what, strerror(errno));
		}
		curl_easy_reset(c);
		errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_AWS_SIGV4);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "trainctl/" TC_VERSION);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		/* a stalled transfer (under 1 KiB/s for 60 s) is a failure */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		if (!strcmp(r->method, "PUT")) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, r);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)(r->mem ? r->mem_len
							     : r->in_len));
		} else if (!strcmp(r->method, "POST")) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)r->mem_len);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
					 r->mem ? r->mem : "");
		} else if (!strcmp(r->method, "HEAD")) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(r->method, "GET")) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		}
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->write_failed) {
			curl_slist_free_all(hdrs);
			return tc_error_set(err, TC_ERR_IO,
					    "%s: cannot write the local file: %s",
					    r->what, strerror(r->write_failed));
		}
		if (rc == CURLE_ABORTED_BY_CALLBACK && !r->mem && r->in_fd >= 0) {
			curl_slist_free_all(hdrs);
			return tc_error_set(err, TC_ERR_IO,
					    "%s: the local file changed or could "
					    "not be read during the upload",
					    r->what);
		}
		if (attempt >= TC_S3_ATTEMPTS ||
		    !tc_http_retryable((int)rc, r->status))
			break;
		double d = tc_retry_wait(
			tc_backoff(attempt, BACKOFF_START, BACKOFF_CAP, &s->rng),
			rc == CURLE_OK ? r->retry_after : 0);

		if (d > MAX_WAIT)
			break; /* the server asks for longer than a run waits */
		struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		return tc_error_set(
			err, TC_ERR_BACKEND,
			"%s: cannot reach the S3 endpoint %s (%s) after %d "
			"tries: check the endpoint URL and that the store is "
			"running",
			r->what, s->endpoint, *errbuf ? errbuf : curl_easy_strerror(rc),
			attempt);
	if (r->status >= 500 || r->status == 429) {
		char t[512];

		s3_error_text(r, t, sizeof t);
		return tc_error_set(err, TC_ERR_BACKEND,
				    "%s: the S3 endpoint %s kept failing (%s) "
				    "after %d tries",
				    r->what, s->endpoint, t, attempt);
	}
	return 0;
nomem:
	curl_slist_free_all(hdrs);
	return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
}

/* The error for a 4xx (or unexpected) answer to r. */
static int answer_error(struct tc_s3 *s, const struct req *r,
			struct tc_error *err)
{
	char t[512];

	s3_error_text(r, t, sizeof t);
	if (r->status == 401 || r->status == 403)
		return tc_error_set(
			err, TC_ERR_BACKEND,
			"%s: the S3 endpoint %s refused the credentials (%s): "
			"check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
			"the AWS_PROFILE profile), the region '%s' and the "
			"bucket's permissions",
			r->what, s->endpoint, t, s->region);
	return tc_error_set(err, TC_ERR_BACKEND, "%s: the S3 endpoint %s answered %s",
			    r->what, s->endpoint, t);
}

static void req_free(struct req *r)
{
	free(r->resp.p);
	r->resp.p = NULL;
}

/* ---- bucket, head, delete, list ----------------------------------------- */

int tc_s3_check(struct tc_s3 *s, struct tc_error *err)
{
	char what[600];
	struct req r = {.method = "HEAD", .what = what, .in_fd = -1, .out_fd = -1};
	char *url = make_url(s, NULL, NULL);
	int rc;

	if (!url)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(what, sizeof what, "s3://%s", s->bucket);
	rc = do_request(s, &r, url, err);
	if (!rc && r.status == 404)
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "s3://%s: no such bucket at the S3 endpoint "
				  "%s: create it, or check the URL",
				  s->bucket, s->endpoint);
	else if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, err);
	req_free(&r);
	free(url);
	return rc;
}

int tc_s3_head(struct tc_s3 *s, const char *key, uint64_t *size,
	       struct tc_error *err)
{
	char what[1200];
	struct req r = {.method = "HEAD", .what = what, .in_fd = -1, .out_fd = -1};
	char *fk = full_key(s, key), *url = fk ? make_url(s, fk, NULL) : NULL;
	int rc;

	if (!url) {
		free(fk);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	snprintf(what, sizeof what, "s3://%s/%s", s->bucket, fk);
	rc = do_request(s, &r, url, err);
	if (!rc && r.status == 404)
		rc = 0;
	else if (!rc && r.status / 100 == 2) {
		rc = 1;
		if (size)
			*size = r.length;
	} else if (!rc)
		rc = answer_error(s, &r, err);
	req_free(&r);
	free(url);
	free(fk);
	return rc;
}

int tc_s3_delete(struct tc_s3 *s, const char *key, struct tc_error *err)
{
	char what[1200];
	struct req r = {.method = "DELETE", .what = what, .in_fd = -1, .out_fd = -1};
	char *fk = full_key(s, key), *url = fk ? make_url(s, fk, NULL) : NULL;
	int rc;

	if (!url) {
		free(fk);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	snprintf(what, sizeof what, "delete of s3://%s/%s", s->bucket, fk);
	rc = do_request(s, &r, url, err);
	if (!rc && r.status / 100 != 2 && r.status != 404)
		rc = answer_error(s, &r, err);
	req_free(&r);
	free(url);
	free(fk);
	return rc;
}

int tc_s3_list(struct tc_s3 *s, const char *prefix, tc_s3_list_fn fn,
	       void *ud, struct tc_error *err)
{
	char *fp = full_key(s, prefix ? prefix : ""), *token = NULL;
	size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
	char what[1200];
	int rc = 0;

	if (!fp)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	/* the prefix "" under s3://b/p lists p/..., not p2/... */
	if (*s->prefix && !*(prefix ? prefix : "")) {
		char *t = xasprintf("%s/", s->prefix);

		free(fp);
		if (!(fp = t))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	snprintf(what, sizeof what, "listing of s3://%s/%s", s->bucket, fp);
	do {
		struct req r = {.method = "GET", .what = what, .in_fd = -1,
				.out_fd = -1};
		struct buf q = {0};
		char *url = NULL, *trunc, *key;
		const char *pos;

		/* sorted: continuation-token, list-type, prefix */
		if ((token && (buf_str(&q, "continuation-token=") ||
			       buf_uri(&q, token, 0) || buf_str(&q, "&"))) ||
		    buf_str(&q, "list-type=2&prefix=") || buf_uri(&q, fp, 0) ||
		    !(url = make_url(s, NULL, q.p))) {
			free(q.p);
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		free(q.p);
		rc = do_request(s, &r, url, err);
		free(url);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, err);
		if (rc) {
			req_free(&r);
			break;
		}
		pos = r.resp.p;
		while (!rc && (pos = strstr(pos, "<Contents>"))) {
			const char *p2 = pos;
			char *sz;

			key = xml_text(pos, "Key", &p2);
			sz = xml_text(pos, "Size", NULL);
			pos = p2;
			if (key && strlen(key) >= strip)
				rc = fn(ud, key + strip,
					sz ? strtoull(sz, NULL, 10) : 0);
			free(key);
			free(sz);
		}
		trunc = xml_text(r.resp.p, "IsTruncated", NULL);
		free(token);
		token = NULL;
		if (!rc && trunc && !strcmp(trunc, "true")) {
			token = xml_text(r.resp.p, "NextContinuationToken", NULL);
			if (!token)
				rc = tc_error_set(err, TC_ERR_BACKEND,
						  "%s: a truncated listing "
						  "without a continuation token",
						  what);
		}
		free(trunc);
		req_free(&r);
	} while (!rc && token);
	free(token);
	free(fp);
	return rc;
}

/* ---- upload ------------------------------------------------------------- */

/* One pass over the file: the SHA-256 and MD5 of the whole file, and the
 * SHA-256 of each part of part_size bytes (parts may be NULL). */
static int hash_file(int fd, uint64_t size, uint64_t part_size,
		     char sha_hex[65], char md5_hex[33], char (*parts)[65])
{
	EVP_MD_CTX *all = EVP_MD_CTX_new(), *md5 = EVP_MD_CTX_new(),
		   *part = EVP_MD_CTX_new();
	size_t bufsz = 1 << 20;
	unsigned char *b = malloc(bufsz), md[32];
	uint64_t off = 0, in_part = 0;
	unsigned n;
	int rc = -1, pi = 0;

	if (!all || !md5 || !part || !b)
		goto out;
	EVP_DigestInit_ex(all, EVP_sha256(), NULL);
	EVP_DigestInit_ex(md5, EVP_md5(), NULL);
	EVP_DigestInit_ex(part, EVP_sha256(), NULL);
	while (off < size) {
		size_t want = size - off < bufsz ? (size_t)(size - off) : bufsz;
		ssize_t got;

		if (parts && part_size - in_part < want)
			want = (size_t)(part_size - in_part);
		got = pread(fd, b, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (!got)
				errno = EIO; /* it shrank */
			goto out;
		}
		EVP_DigestUpdate(all, b, (size_t)got);
		EVP_DigestUpdate(md5, b, (size_t)got);
		off += (uint64_t)got;
		if (parts) {
			EVP_DigestUpdate(part, b, (size_t)got);
			in_part += (uint64_t)got;
			if (in_part == part_size || off == size) {
				EVP_DigestFinal_ex(part, md, &n);
				to_hex(md, 32, parts[pi++]);
				EVP_DigestInit_ex(part, EVP_sha256(), NULL);
				in_part = 0;
			}
		}
	}
	EVP_DigestFinal_ex(all, md, &n);
	to_hex(md, 32, sha_hex);
	EVP_DigestFinal_ex(md5, md, &n);
	to_hex(md, 16, md5_hex);
	rc = 0;
out:
	EVP_MD_CTX_free(all);
	EVP_MD_CTX_free(md5);
	EVP_MD_CTX_free(part);
	free(b);
	return rc;
}

/* Strip the quotes around an ETag, in place. */
static const char *etag_bare(char *e)
{
	size_t n = strlen(e);

	if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
		e[n - 1] = '\0';
		return e + 1;
	}
	return e;
}

static int put_single(struct tc_s3 *s, const char *fk, const char *what,
		      int fd, uint64_t size, const char *sha, const char *md5,
		      struct tc_error *err)
{
	char meta[120];
	struct curl_slist *h = NULL;
	struct req r = {.method = "PUT", .what = what, .payload_sha = sha,
			.in_fd = fd, .in_len = size, .out_fd = -1};
	char *url = make_url(s, fk, NULL);
	int rc;

	snprintf(meta, sizeof meta, "x-amz-meta-sha256: %s", sha);
	if (!url || !(h = curl_slist_append(NULL, meta)) ||
	    !curl_slist_append(h, "Content-Type: application/octet-stream")) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	r.hdrs = h;
	rc = do_request(s, &r, url, err);
	if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, err);
	if (!rc && *r.etag && strcmp(etag_bare(r.etag), md5))
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s: the store's ETag %s is not the file's "
				  "MD5 %s: the data was damaged on the way",
				  what, r.etag, md5);
out:
	req_free(&r);
	curl_slist_free_all(h);
	free(url);
	return rc;
}

static int abort_multipart(struct tc_s3 *s, const char *fk, const char *id)
{
	struct buf q = {0};
	struct req r = {.method = "DELETE", .what = "abort", .in_fd = -1,
			.out_fd = -1};
	char *url;
	struct tc_error ignored;

	if (buf_str(&q, "uploadId=") || buf_uri(&q, id, 0) ||
	    !(url = make_url(s, fk, q.p))) {
		free(q.p);
		return -1;
	}
	do_request(s, &r, url, &ignored);
	req_free(&r);
	free(url);
	free(q.p);
	return 0;
}

static int put_multipart(struct tc_s3 *s, const char *fk, const char *what,
			 int fd, uint64_t size, uint64_t psize,
			 const char *sha, char (*psha)[65], struct tc_error *err)
{
	unsigned nparts = (unsigned)((size + psize - 1) / psize);
	char meta[120], (*etags)[80] = calloc(nparts, sizeof *etags);
	struct curl_slist *h = NULL;
	struct buf body = {0};
	char *url = make_url(s, fk, "uploads="), *id = NULL, bodysha[65];
	int rc;

	snprintf(meta, sizeof meta, "x-amz-meta-sha256: %s", sha);
	if (!etags || !url || !(h = curl_slist_append(NULL, meta)) ||
	    !curl_slist_append(h, "Content-Type: application/octet-stream")) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		struct req r = {.method = "POST", .what = what, .hdrs = h,
				.in_fd = -1, .out_fd = -1};

		rc = do_request(s, &r, url, err);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, err);
		if (!rc && !(id = xml_text(r.resp.p, "UploadId", NULL)))
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "%s: the store started no multipart "
					  "upload (no UploadId)",
					  what);
		req_free(&r);
		if (rc)
			goto out;
	}
	for (unsigned i = 0; i < nparts && !rc; i++) {
		uint64_t off = (uint64_t)i * psize;
		struct req r = {.method = "PUT", .what = what,
				.payload_sha = psha[i], .in_fd = fd,
				.in_off = off,
				.in_len = size - off < psize ? size - off : psize,
				.out_fd = -1};
		struct buf q = {0};
		char *purl, num[16];

		snprintf(num, sizeof num, "%u", i + 1);
		if (buf_str(&q, "partNumber=") || buf_str(&q, num) ||
		    buf_str(&q, "&uploadId=") || buf_uri(&q, id, 0) ||
		    !(purl = make_url(s, fk, q.p))) {
			free(q.p);
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		free(q.p);
		rc = do_request(s, &r, purl, err);
		free(purl);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, err);
		if (!rc && !*r.etag)
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "%s: part %u got no ETag", what, i + 1);
		if (!rc)
			snprintf(etags[i], sizeof etags[i], "%s", r.etag);
		req_free(&r);
	}
	if (rc)
		goto out;

	if (buf_str(&body, "<CompleteMultipartUpload>")) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < nparts; i++) {
		char n[16];

		snprintf(n, sizeof n, "%u", i + 1);
		if (buf_str(&body, "<Part><PartNumber>") || buf_str(&body, n) ||
		    buf_str(&body, "</PartNumber><ETag>") ||
		    buf_xml(&body, etags[i]) || buf_str(&body, "</ETag></Part>")) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (buf_str(&body, "</CompleteMultipartUpload>")) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		struct buf q = {0};
		char *curl_ = NULL;
		unsigned char md[32];
		struct req r = {.method = "POST", .what = what,
				.payload_sha = bodysha, .mem = body.p,
				.mem_len = body.len, .in_fd = -1, .out_fd = -1};
		char *code;

		EVP_Digest(body.p, body.len, md, NULL, EVP_sha256(), NULL);
		to_hex(md, 32, bodysha);
		if (buf_str(&q, "uploadId=") || buf_uri(&q, id, 0) ||
		    !(curl_ = make_url(s, fk, q.p))) {
			free(q.p);
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		free(q.p);
		rc = do_request(s, &r, curl_, err);
		free(curl_);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, err);
		/* a 200 can still carry an error (S3 documents this) */
		if (!rc && (code = xml_text(r.resp.p, "Code", NULL))) {
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "%s: completing the upload failed: %s",
					  what, code);
			free(code);
		}
		req_free(&r);
	}
out:
	if (rc && id)
		abort_multipart(s, fk, id);
	free(id);
	free(body.p);
	curl_slist_free_all(h);
	free(url);
	free(etags);
	return rc;
}

int tc_s3_put_file(struct tc_s3 *s, const char *key, const char *path,
		   struct tc_error *err)
{
	char *fk = full_key(s, key), what[1400], sha[65], md5[33];
	char (*psha)[65] = NULL;
	struct stat st;
	uint64_t psize = PART_SIZE;
	int fd, rc;

	if (!fk)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(what, sizeof what, "upload of %s to s3://%s/%s", path,
		 s->bucket, fk);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = tc_error_set(err, TC_ERR_IO, "%s: %s", what,
				  strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tc_error_set(err, TC_ERR_IO, "%s: not a regular file",
				  what);
		goto out;
	}
	if ((uint64_t)st.st_size > TC_S3_MULTIPART_THRESHOLD) {
		while ((uint64_t)st.st_size / psize >= MAX_PARTS)
			psize *= 2;
		psha = calloc((size_t)((uint64_t)st.st_size / psize + 1),
			      sizeof *psha);
		if (!psha) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (hash_file(fd, (uint64_t)st.st_size, psize, sha, md5, psha) < 0) {
		rc = tc_error_set(err, TC_ERR_IO, "%s: cannot read the file: %s",
				  what, strerror(errno));
		goto out;
	}
	if (psha)
		rc = put_multipart(s, fk, what, fd, (uint64_t)st.st_size, psize,
				   sha, psha, err);
	else
		rc = put_single(s, fk, what, fd, (uint64_t)st.st_size, sha, md5,
				err);
out:
	if (fd >= 0)
		close(fd);
	free(psha);
	free(fk);
	return rc;
}

/* ---- download ----------------------------------------------------------- */

/* Does the ETag of a single-part object (no "-N" suffix) look like an MD5? */
static int etag_is_md5(const char *e)
{
	if (strlen(e) != 32)
		return 0;
	for (; *e; e++)
		if (!isxdigit((unsigned char)*e))
			return 0;
	return 1;
}

static int fsync_dir_of(const char *path)
{
	char *d = tc_dirname(path);
	int fd, rc = -1;

	if (!d)
		return -1;
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(d);
	return rc;
}

int tc_s3_get_file(struct tc_s3 *s, const char *key, const char *path,
		   struct tc_error *err)
{
	char *fk = full_key(s, key), *url = NULL, *tmp = NULL, *dir = NULL;
	char what[1400], sha[65], md5[33];
	unsigned char md[32];
	struct req r = {.method = "GET", .what = what, .in_fd = -1, .out_fd = -1};
	int rc;

	if (!fk)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(what, sizeof what, "download of s3://%s/%s to %s", s->bucket,
		 fk, path);
	url = make_url(s, fk, NULL);
	dir = tc_dirname(path);
	r.sha = EVP_MD_CTX_new();
	r.md5 = EVP_MD_CTX_new();
	if (!url || !dir || !r.sha || !r.md5 ||
	    !(tmp = xasprintf("%s/.%s.part.XXXXXX", dir,
			      strrchr(path, '/') ? strrchr(path, '/') + 1
						 : path))) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r.out_fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = tc_error_set(err, TC_ERR_IO,
				  "%s: cannot create a file in %s: %s", what,
				  dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	rc = do_request(s, &r, url, err);
	if (!rc && r.status == 404)
		rc = tc_error_set(err, TC_ERR_NOTFOUND,
				  "s3://%s/%s: no such object", s->bucket, fk);
	else if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, err);
	if (rc)
		goto out;
	EVP_DigestFinal_ex(r.sha, md, NULL);
	to_hex(md, 32, sha);
	EVP_DigestFinal_ex(r.md5, md, NULL);
	to_hex(md, 16, md5);
	const char *etag = etag_bare(r.etag);

	if (*r.meta_sha && strcasecmp(r.meta_sha, sha)) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s: the data's SHA-256 %s is not the one "
				  "stored with it (%s): the object is damaged; "
				  "nothing was written",
				  what, sha, r.meta_sha);
		goto out;
	}
	if (etag_is_md5(etag) && strcasecmp(etag, md5)) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s: the data's MD5 %s is not the object's "
				  "ETag %s: the object is damaged; nothing was "
				  "written",
				  what, md5, etag);
		goto out;
	}
	mode_t mask = umask(0);

	umask(mask);
	if (fchmod(r.out_fd, 0644 & ~mask) < 0 || fsync(r.out_fd) < 0 ||
	    close(r.out_fd) < 0) {
		r.out_fd = -1;
		rc = tc_error_set(err, TC_ERR_IO, "%s: %s", what, strerror(errno));
		goto out;
	}
	r.out_fd = -1;
	if (rename(tmp, path) < 0) {
		rc = tc_error_set(err, TC_ERR_IO, "%s: cannot rename %s: %s",
				  what, tmp, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	fsync_dir_of(path);
out:
	if (r.out_fd >= 0)
		close(r.out_fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	EVP_MD_CTX_free(r.sha);
	EVP_MD_CTX_free(r.md5);
	req_free(&r);
	free(url);
	free(dir);
	free(fk);
	return rc;
}

/* ---- directories -------------------------------------------------------- */

static int put_tree(struct tc_s3 *s, const char *key, const char *dir,
		    struct tc_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return tc_error_set(err, TC_ERR_IO, "cannot open %s: %s", dir,
				    strerror(errno));
	while (!rc && (errno = 0, e = readdir(d))) {
		char *p, *k;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		k = *key ? xasprintf("%s/%s", key, e->d_name)
			 : strdup(e->d_name);
		if (!p || !k)
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		else if (lstat(p, &st) < 0)
			rc = tc_error_set(err, TC_ERR_IO, "cannot stat %s: %s",
					  p, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = put_tree(s, k, p, err);
		else if (S_ISREG(st.st_mode))
			rc = tc_s3_put_file(s, k, p, err);
		free(p);
		free(k);
	}
	if (!rc && errno)
		rc = tc_error_set(err, TC_ERR_IO, "cannot read %s: %s", dir,
				  strerror(errno));
	closedir(d);
	return rc;
}

int tc_s3_put_dir(struct tc_s3 *s, const char *key, const char *dir,
		  struct tc_error *err)
{
	while (*key == '/')
		key++;
	return put_tree(s, key, dir, err);
}

struct get_dir {
	struct tc_s3 *s;
	const char *key, *dir;
	size_t klen;
	int n;
	struct tc_error *err;
	char **keys; /* collected first: a listing is not read while downloading */
	size_t nkeys, cap;
};

static int collect(void *ud, const char *key, uint64_t size)
{
	struct get_dir *g = ud;

	(void)size;
	if (g->nkeys == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		char **k = realloc(g->keys, cap * sizeof *k);

		if (!k)
			return tc_error_set(g->err, TC_ERR_NOMEM, "out of memory");
		g->keys = k;
		g->cap = cap;
	}
	if (!(g->keys[g->nkeys] = strdup(key)))
		return tc_error_set(g->err, TC_ERR_NOMEM, "out of memory");
	g->nkeys++;
	return 0;
}

/* Is rel a relative path with no empty, "." or ".." part? */
static int safe_relpath(const char *rel)
{
	const char *p = rel;

	if (!*rel)
		return 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
		if (e && !*p)
			return 0; /* a trailing '/' */
	}
	return 1;
}

int tc_s3_get_dir(struct tc_s3 *s, const char *key, const char *dir,
		  struct tc_error *err)
{
	struct get_dir g = {.s = s, .dir = dir, .err = err};
	char *pfx;
	int rc;

	while (*key == '/')
		key++;
	pfx = *key ? xasprintf("%s/", key) : strdup("");
	if (!pfx)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	rc = tc_s3_list(s, pfx, collect, &g, err);
	if (!rc && !g.nkeys)
		rc = tc_error_set(err, TC_ERR_NOTFOUND,
				  "s3://%s/%s%s%s: no objects under this prefix",
				  s->bucket, s->prefix, *s->prefix ? "/" : "",
				  pfx);
	for (size_t i = 0; !rc && i < g.nkeys; i++) {
		const char *rel = g.keys[i] + strlen(pfx);
		char *path, *pdir;

		size_t rlen = strlen(rel);

		if (rlen && rel[rlen - 1] == '/')
			continue; /* a "directory" marker some tools create */
		if (!safe_relpath(rel)) {
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "s3://%s/%s: the key would land "
					  "outside %s; refused",
					  s->bucket, g.keys[i], dir);
			break;
		}
		if (!(path = xasprintf("%s/%s", dir, rel))) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		pdir = tc_dirname(path);
		if (!pdir || tc_mkdir_p(pdir, 0755) < 0)
			rc = tc_error_set(err, TC_ERR_IO, "cannot make %s: %s",
					  pdir ? pdir : path, strerror(errno));
		else
			rc = tc_s3_get_file(s, g.keys[i], path, err);
		free(pdir);
		free(path);
	}
	for (size_t i = 0; i < g.nkeys; i++)
		free(g.keys[i]);
	free(g.keys);
	free(pfx);
	return rc;
}
