/*
 * kspec.c — the rules Kubernetes puts on names (DNS-1123 labels and
 * subdomains, label keys and values), for the spec loader checking the
 * kubernetes: section and for the runner checking --namespace.  See
 * kspec.h.
 */
#include "k8s/kspec.h"

#include <string.h>

static int is_lower_or_digit(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int is_alnum(char ch)
{
	return is_lower_or_digit(ch) || (ch >= 'A' && ch <= 'Z');
}

/* A run of [a-z0-9-] of 1..max bytes starting and ending alphanumeric. */
static int dns_part(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_or_digit(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* A DNS-1123 subdomain of n bytes. */
static int dns_subdomain_n(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!dns_part(s + start, i - start, 253))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* The name part of a label key, or a non-empty label value:
 * [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 bytes. */
static int label_name_n(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return 0;
	return 1;
}

int tc_k8s_is_dns_label(const char *s)
{
	return s && dns_part(s, strlen(s), 63);
}

int tc_k8s_is_dns_subdomain(const char *s)
{
	return s && dns_subdomain_n(s, strlen(s));
}

int tc_k8s_is_label_key(const char *s, int need_prefix)
{
	const char *slash = strchr(s, '/');

	if (!slash)
		return !need_prefix && label_name_n(s, strlen(s));
	return dns_subdomain_n(s, (size_t)(slash - s)) &&
	       label_name_n(slash + 1, strlen(slash + 1));
}

int tc_k8s_is_label_value(const char *s)
{
	return !*s || label_name_n(s, strlen(s));
}
