#!/usr/bin/env Rscript
# Regenerate the reference values of explorer.analysis.timecourse under tests/fixtures/metafor/:
#
#     Rscript tools/metafor_timecourse_fixtures.R          (from the repository root)
#
# Why this exists: the longitudinal meta-regression must agree with R to 1e-5 and CI has no R,
# so the numbers are computed once here and checked in as CSV (as tools/metafor_fixtures.R does
# for pooling). Written against R 4.2, metafor 3.8-1, clubSandwich 0.5.8 and Hmisc (for the
# spline basis); the versions used are written to timecourse_versions.csv.
#
# What is computed, per case (a group of synthetic data with a working correlation rho):
#   * the basis, by an independent transcription of the rule in the Python module's docstring
#     (or a forced basis, to cover the linear and constant bases on rich data);
#   * V: block diagonal by study, V_jk = rho sqrt(v_j v_k) within a study (j != k);
#   * fit <- rma.mv(yi, V, mods = ~ lt + nl, random = ~ 1 | study/tid, method = "REML"),
#     lt = log(weeks), nl = Hmisc::rcspline.eval(lt, knots = log(c(2, 13, 52)), norm = 2),
#     tid = study x time; sigma2 = c(NA, 0) where no study has two time points;
#     nlminb with metafor's defaults, then Newton steps on central differences of metafor's own
#     restricted log-likelihood (nlminb's relative tolerance 1e-10 leaves the variance
#     components ~1e-7 from the optimum; see fit_case());
#   * robust(fit, cluster = study, clubSandwich = TRUE): CR2 SEs, Satterthwaite df, p, CI;
#   * the curve at the reported weeks within [min, max] time: clubSandwich::linear_contrast()
#     (CR2, Satterthwaite df per week), the model-based SE from predict(), and the prediction
#     interval est +- qt(0.975, df) sqrt(SE^2 + sigma2_study + sigma2_time) where k >= 3.
# Every numeric value is written with sprintf("%.17g").

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
})

script_dir <- local({
  arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(arg)) dirname(normalizePath(sub("^--file=", "", arg[1]))) else getwd()
})
out_dir <- file.path(normalizePath(file.path(script_dir, "..")), "tests", "fixtures", "metafor")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

num_out <- function(x) {
  out <- sprintf("%.17g", x)
  out[is.na(x)] <- "NA"
  out
}

write_fixture <- function(df, name) {
  text_cols <- which(vapply(df, function(x) is.character(x) || is.factor(x), logical(1)))
  for (col in names(df)) if (is.double(df[[col]])) df[[col]] <- num_out(df[[col]])
  path <- file.path(out_dir, name)
  write.csv(df, path, row.names = FALSE, na = "NA", quote = unname(text_cols))
  message("wrote ", path, " (", nrow(df), " rows)")
}

KNOTS <- log(c(2, 13, 52))
REPORT_WEEKS <- c(1, 2, 4, 6, 8, 12, 13, 18, 26, 39, 52, 78, 104)

rcs_nl <- function(lt) Hmisc::rcspline.eval(lt, knots = KNOTS, inclx = FALSE, norm = 2)[, 1]

design <- function(weeks, basis) {
  lt <- log(weeks)
  switch(basis,
         constant = cbind(intrcpt = rep(1, length(lt))),
         linear = cbind(intrcpt = 1, lt = lt),
         spline = cbind(intrcpt = 1, lt = lt, nl = rcs_nl(lt)))
}

# ------------------------------------------------------------------ synthetic data ----------

set.seed(20240916)
true_curve <- function(weeks) -2 + 0.45 * log(weeks) - 0.25 * rcs_nl(log(weeks))

simulate_group <- function(name, n_studies, grid, sizes, s2_study = 0.15, s2_time = 0.05) {
  rows <- list()
  for (i in seq_len(n_studies)) {
    times <- sort(sample(grid, sizes[i]))
    u <- rnorm(1, 0, sqrt(s2_study))
    vi <- runif(length(times), 0.05, 0.4)
    e <- rnorm(length(times), 0, sqrt(vi))  # independent errors; rho is a working model
    yi <- true_curve(times) + u + rnorm(length(times), 0, sqrt(s2_time)) + e
    rows[[i]] <- data.frame(group = name, study = sprintf("%s_%03d", name, i), time_weeks = times,
                            yi = yi, vi = vi)
  }
  do.call(rbind, rows)
}

grid <- c(1, 2, 4, 6, 8, 12, 3 * 52 / 12, 26, 39, 52)  # 3 months as the data give it
several <- simulate_group("several", 10, grid, c(1, 2, 3, 4, 5, 6, 3, 4, 2, 5))
# two estimates of one study at the same time (two doses against one control)
dup <- several[several$study == "several_004", ][1, ]
dup$yi <- dup$yi + 0.3
dup$vi <- dup$vi * 1.5
several <- rbind(several, dup)
linear <- simulate_group("linear", 3, c(2, 4, 6, 12, 26), c(3, 2, 2))
constant <- simulate_group("constant", 2, c(4, 12, 26), c(2, 2))
one_each <- simulate_group("one_time_each", 6, c(1, 3, 6, 12, 26, 52), rep(1, 6))
too_few_studies <- simulate_group("too_few_studies", 1, c(2, 6, 12), 3)
too_few_rows <- simulate_group("too_few_rows", 3, c(6), rep(1, 3))
big <- simulate_group("big", 400, grid, sample(1:6, 400, replace = TRUE))

inputs <- rbind(several, linear, constant, one_each, too_few_studies, too_few_rows, big)
write_fixture(inputs, "timecourse_inputs.csv")

# ------------------------------------------------------------------ the rule ----------------

window_of <- function(w) ifelse(w <= 2, "immediate", ifelse(w <= 13, "short",
                                ifelse(w < 52, "intermediate", "long")))

choose_basis <- function(d) {
  k <- length(unique(d$study))
  times <- unique(round(d$time_weeks, 6))
  n_win <- length(unique(window_of(d$time_weeks)))
  n <- nrow(d)
  rules <- list(spline = c(4, 5, 2, 6), linear = c(3, 3, 1, 5), constant = c(2, 1, 1, 4))
  for (basis in names(rules)) {
    r <- rules[[basis]]
    if (k >= r[1] && length(times) >= r[2] && n_win >= r[3] && n >= r[4]) {
      X <- design(d$time_weeks, basis)
      if (qr(X)$rank == ncol(X)) return(basis)
    }
  }
  NA_character_
}

# ------------------------------------------------------------------ fits --------------------

fit_case <- function(case, d, rho, basis) {
  d <- d[order(d$study, d$time_weeks), ]
  d$tid <- paste(d$study, round(d$time_weeks, 6))
  k <- length(unique(d$study))
  n <- nrow(d)
  info <- data.frame(case = case, group = d$group[1], rho = rho, k_studies = k, n_estimates = n)
  if (is.na(basis)) {
    return(list(fit = cbind(info, basis = "", status = "skipped", sigma2_study = NA_real_,
                            sigma2_time = NA_real_, sigma2_time_fixed = NA, loglik = NA_real_,
                            polish_grad = NA_real_)))
  }
  X <- design(d$time_weeks, basis)
  V <- rho * outer(sqrt(d$vi), sqrt(d$vi)) * outer(d$study, d$study, "==")
  diag(V) <- d$vi
  time_fixed <- length(unique(d$tid)) == k
  sigma2 <- if (time_fixed) c(NA, 0) else c(NA, NA)
  d$lt <- log(d$time_weeks)
  d$nl <- rcs_nl(d$lt)
  mods <- switch(basis, constant = ~ 1, linear = ~ lt, spline = ~ lt + nl)
  fit_at <- function(s2) rma.mv(yi, V, mods = mods, random = ~ 1 | study / tid, data = d,
                                 method = "REML", sigma2 = s2, sparse = n > 200,
                                 control = list(iter.max = 10000, eval.max = 10000))
  fit <- fit_at(sigma2)
  # nlminb stops when the likelihood changes by < 1e-10 relatively, ~1e-7 from the optimum in
  # sigma2. Polish: Newton steps on central differences of metafor's own restricted
  # log-likelihood (sigma2 fixed), for components off the boundary (> 1e-6). The maximiser
  # is unchanged; it is only located more precisely. The largest remaining derivative is kept.
  s2 <- fit$sigma2
  free <- which(s2 > 1e-6 & is.na(sigma2))
  ll <- function(s) as.numeric(logLik(fit_at(s)))
  grad_max <- NA_real_
  if (length(free)) {
    for (iter in 1:4) {
      h <- 1e-5 * pmax(s2[free], 1e-2)
      e <- function(i) { z <- rep(0, 2); z[free[i]] <- h[i]; z }
      f0 <- ll(s2)
      g <- sapply(seq_along(free), function(i) (ll(s2 + e(i)) - ll(s2 - e(i))) / (2 * h[i]))
      H <- matrix(0, length(free), length(free))
      for (i in seq_along(free)) for (j in seq_along(free)) {
        H[i, j] <- if (i == j) (ll(s2 + e(i)) - 2 * f0 + ll(s2 - e(i))) / h[i]^2 else
          (ll(s2 + e(i) + e(j)) - ll(s2 + e(i) - e(j)) - ll(s2 - e(i) + e(j)) +
             ll(s2 - e(i) - e(j))) / (4 * h[i] * h[j])
      }
      grad_max <- max(abs(g))
      step <- -solve(H, g)
      if (any(s2[free] + step <= 0) || ll(replace(s2, free, s2[free] + step)) < f0) break
      s2[free] <- s2[free] + step
      if (max(abs(step)) < 1e-12) break
    }
    fit <- fit_at(ifelse(is.na(sigma2), s2, sigma2))
  }
  rob <- robust(fit, cluster = d$study, clubSandwich = TRUE)
  fits <- cbind(info, basis = basis, status = "fitted", sigma2_study = fit$sigma2[1],
                sigma2_time = fit$sigma2[2], sigma2_time_fixed = time_fixed,
                loglik = as.numeric(logLik(fit)), polish_grad = grad_max)
  terms <- c(intrcpt = "intercept", lt = "log_weeks", nl = "log_weeks_rcs")[colnames(X)]
  coefs <- data.frame(case = case, term = unname(terms), estimate = c(fit$beta), se = fit$se,
                      robust_se = rob$se, df = as.numeric(rob$ddf), p = rob$pval,
                      ci_lb = rob$ci.lb, ci_ub = rob$ci.ub)
  lo <- min(d$time_weeks)
  hi <- max(d$time_weeks)
  w <- sort(unique(c(REPORT_WEEKS, lo, hi)))
  w <- w[round(w, 6) >= round(lo, 6) & round(w, 6) <= round(hi, 6)]
  Xn <- unname(design(w, basis))
  lc <- linear_contrast(fit, vcov = vcovCR(fit, cluster = d$study, type = "CR2"), contrasts = Xn)
  pr <- if (basis == "constant") predict(fit) else predict(fit, newmods = Xn[, -1, drop = FALSE])
  pr$se <- rep(pr$se, length.out = length(w))
  crit <- qt(0.975, lc$df)
  pi_se <- sqrt(lc$SE^2 + sum(fit$sigma2))
  curve <- data.frame(case = case, weeks = w, estimate = lc$Est, se = lc$SE, df = lc$df,
                      ci_lb = lc$CI_L, ci_ub = lc$CI_U,
                      pi_lb = if (k >= 3) lc$Est - crit * pi_se else NA_real_,
                      pi_ub = if (k >= 3) lc$Est + crit * pi_se else NA_real_,
                      se_model = pr$se)
  list(fit = fits, coefs = coefs, curve = curve)
}

cases <- list(
  list("several_rho0.5", "several", 0.5, "auto"),
  list("several_rho0", "several", 0.0, "auto"),
  list("several_rho0.8", "several", 0.8, "auto"),
  list("several_linear", "several", 0.5, "linear"),
  list("several_constant", "several", 0.5, "constant"),
  list("linear_rho0.5", "linear", 0.5, "auto"),
  list("constant_rho0.5", "constant", 0.5, "auto"),
  list("one_time_each_rho0.5", "one_time_each", 0.5, "auto"),
  list("too_few_studies_rho0.5", "too_few_studies", 0.5, "auto"),
  list("too_few_rows_rho0.5", "too_few_rows", 0.5, "auto"),
  list("big_rho0.5", "big", 0.5, "auto")
)

out <- lapply(cases, function(cs) {
  d <- inputs[inputs$group == cs[[2]], ]
  basis <- if (cs[[4]] == "auto") choose_basis(d) else cs[[4]]
  message(cs[[1]], ": ", basis)
  r <- fit_case(cs[[1]], d, cs[[3]], basis)
  r$fit$requested <- cs[[4]]
  r
})
write_fixture(do.call(rbind, lapply(out, `[[`, "fit")), "timecourse_fits.csv")
write_fixture(do.call(rbind, lapply(out, `[[`, "coefs")), "timecourse_coefficients.csv")
write_fixture(do.call(rbind, lapply(out, `[[`, "curve")), "timecourse_curve.csv")

# The spline basis itself, Hmisc's parameterisation, over and beyond the knots.
bw <- c(0.5, 1, 1.5, 2, 3, 6, 12, 13, 20, 26, 40, 52, 60, 104, 520)
write_fixture(data.frame(weeks = bw, lt = log(bw), nl = rcs_nl(log(bw))), "timecourse_basis.csv")

write_fixture(data.frame(
  software = c("R", "metafor", "clubSandwich", "Hmisc"),
  version = c(R.version.string, as.character(packageVersion("metafor")),
              as.character(packageVersion("clubSandwich")), as.character(packageVersion("Hmisc")))
), "timecourse_versions.csv")
