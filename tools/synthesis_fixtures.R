#!/usr/bin/env Rscript
# Reference values for explorer.analysis.synthesis (vote counts and combined p-values), written to
# tests/fixtures/metafor/synthesis.csv; tests/test_synthesis.py compares to 1e-10.
#
#     Rscript tools/synthesis_fixtures.R            (from the repository root)
#
# Per case: x trials favouring the therapy of n classifiable ones (ties already excluded):
#   sign_p              binom.test(x, n, p = 0.5)$p.value (exact, two-sided)
#   wilson_lb/_ub       prop.test(x, n, correct = FALSE)$conf.int (95% Wilson score, no
#                       continuity correction; R sets 0 and 1 exactly at x = 0 and x = n)
# and a set of trials' two-sided p-values with directions (+1 favours the therapy, -1 the
# comparator) and sizes (NA = unknown):
#   stouffer_p          hand-written Stouffer: z_i = qnorm(p_i / 2, lower.tail = FALSE) * sign_i,
#                       weights sqrt(n_i) when every n_i is known, else 1;
#                       Z = sum(w z) / sqrt(sum(w^2)); one-sided p = pnorm(Z, lower.tail = FALSE)
# Written with R 4.2.2; every number with sprintf("%.17g") so the CSV round-trips doubles.

set.seed(20240521)

stouffer <- function(p, s, n) {
  z <- qnorm(p / 2, lower.tail = FALSE) * s
  weighted <- all(!is.na(n)) && all(n > 0)
  w <- if (weighted) sqrt(n) else rep(1, length(p))
  Z <- sum(w * z) / sqrt(sum(w^2))
  list(p = pnorm(Z, lower.tail = FALSE), weighted = weighted)
}

g <- function(v) sprintf("%.17g", v)

# counts: fixed edge cases first (0 of n, n of n, n = 1, ties), then random ones
xs <- c(0, 1, 0, 5, 0, 6, 3, 2, 10, 0, 12, 30, 1, 59)
ns <- c(1, 1, 6, 5, 12, 6, 6, 4, 20, 40, 12, 60, 2, 60)
k_random <- 40 - length(xs)
n_random <- sample(1:80, k_random, replace = TRUE)
xs <- c(xs, vapply(n_random, function(n) sample(0:n, 1), numeric(1)))
ns <- c(ns, n_random)

rows <- vector("list", length(xs))
for (i in seq_along(xs)) {
  x <- xs[i]
  n <- ns[i]
  ci <- suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int  # small-count warning only
  k <- sample(2:6, 1)
  p <- round(runif(k, 0, 1), sample(c(2, 3, 4, 10), 1))
  p[p <= 0] <- 0.0001
  if (i == 1) p[1] <- 1  # a p-value of 1 gives z = 0
  if (i == 2) p <- c(1e-6, 0.5)  # a very small p-value
  k <- length(p)
  s <- sample(c(-1, 1), k, replace = TRUE)
  if (i <= 3) s <- rep(1, k)
  sizes <- sample(10:300, k, replace = TRUE)
  if (i %% 3 == 0) sizes[sample(k, 1)] <- NA  # one size unknown: unweighted
  st <- stouffer(p, s, sizes)
  rows[[i]] <- data.frame(
    case = i,
    x = x,
    n = n,
    sign_p = g(binom.test(x, n, p = 0.5)$p.value),
    wilson_lb = g(ci[1]),
    wilson_ub = g(ci[2]),
    p_values = paste(g(p), collapse = ";"),
    signs = paste(s, collapse = ";"),
    sizes = paste(ifelse(is.na(sizes), "NA", sizes), collapse = ";"),
    stouffer_p = g(st$p),
    stouffer_weighted = if (st$weighted) "true" else "false"
  )
}
out <- do.call(rbind, rows)
write.csv(out, "tests/fixtures/metafor/synthesis.csv", row.names = FALSE, quote = FALSE)
cat("wrote", nrow(out), "cases to tests/fixtures/metafor/synthesis.csv\n")
