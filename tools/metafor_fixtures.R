#!/usr/bin/env Rscript
# Regenerate the metafor reference values under tests/fixtures/metafor/.
#
# Why this exists: explorer.analysis must agree with R's metafor to 1e-6, but CI
# has no R.  The numbers are therefore computed once here and checked in as CSV;
# the Python tests only read them.  Re-run after changing a case:
#
#     Rscript tools/metafor_fixtures.R            (from the repository root)
#     Rscript tools/metafor_fixtures.R weights.csv   (write only the files named; the others
#                                                     are computed but left as they are)
#
# Written against metafor 3.8-1 (R 4.2).  Every numeric value is written with
# sprintf("%.17g") so that the CSV round-trips doubles exactly.
#
# Settings (also recorded per row in the `control` column of the outputs):
#   REML : control = list(threshold = 1e-12, tol = 1e-13, maxiter = 10000).
#          If Fisher scoring does not converge, the fit is repeated with
#          threshold = 1e-12 * max(1, var(yi)) (an absolute 1e-12 is below double
#          precision when tau^2 is ~1e5), then additionally stepadj = 0.5, then 0.25
#          (metafor's documented remedy for a cycling Fisher scoring); the settings
#          that succeeded are recorded.
#   PM   : control = list(tol = 1e-13, maxiter = 10000); where the root lies beyond
#          metafor's search range (error "Value of 'tau2.max' too low") the fit is
#          repeated with tau2.max = 1e6.
#   FE/DL: no iteration, default control.
#   escalc: metafor defaults (add = 1/2, to = "only0", drop00 = FALSE,
#          vtype = "LS") unless a row's `to` column says otherwise.
#   predict(): default pi.type, so the prediction interval uses the same critical
#          value as the CI (z, or t(k-1) under test = "knha").
# A fit that metafor refuses (e.g. DL with a zero sampling variance) is written
# with NA results and the error message in the `error` column.

suppressPackageStartupMessages(library(metafor))

if (packageVersion("metafor") != "3.8.1") {
  warning("fixtures were written with metafor 3.8-1; this is ", packageVersion("metafor"))
}

script_dir <- local({
  arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(arg)) dirname(normalizePath(sub("^--file=", "", arg[1]))) else getwd()
})
repo_root <- normalizePath(file.path(script_dir, ".."))
out_dir <- file.path(repo_root, "tests", "fixtures", "metafor")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

REML_CTRL <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000)
PM_CTRL <- list(tol = 1e-13, maxiter = 10000)
METHODS <- c("FE", "DL", "REML", "PM")

# ---------------------------------------------------------------- helpers ----

num_out <- function(x) {
  out <- sprintf("%.17g", x)
  out[is.na(x)] <- "NA"
  out[is.infinite(x) & x > 0] <- "inf"
  out[is.infinite(x) & x < 0] <- "-inf"
  out
}

# File names given on the command line: only those are written (a new fixture is added without
# rewriting the others).  None: every file is written.
only <- commandArgs(trailingOnly = TRUE)

write_fixture <- function(df, name) {
  if (length(only) && !(name %in% only)) {
    message("left as it is: ", name)
    return(invisible(NULL))
  }
  text_cols <- which(vapply(df, function(x) is.character(x) || is.factor(x), logical(1)))
  for (col in names(df)) {
    if (is.double(df[[col]])) df[[col]] <- num_out(df[[col]])
  }
  path <- file.path(out_dir, name)
  write.csv(df, path, row.names = FALSE, na = "NA", quote = unname(text_cols))
  message("wrote ", path, " (", nrow(df), " rows)")
}

control_for <- function(method) {
  if (method == "REML") return(REML_CTRL)
  if (method == "PM") return(PM_CTRL)
  list()
}

control_label <- function(ctrl) {
  if (!length(ctrl)) return("default")
  paste(sprintf("%s=%s", names(ctrl), sapply(ctrl, format, digits = 17)), collapse = ";")
}

# Fit rma.uni the way the Python module is asked to reproduce it.  Returns the
# fitted object (or a condition) and the control list actually used.
fit_rma <- function(yi, vi, method, test, mods = NULL, level = 95) {
  ctrl <- control_for(method)
  call_it <- function(ctrl) {
    args <- list(yi = yi, vi = vi, method = method, test = test, level = level,
                 control = ctrl)
    if (!is.null(mods)) args$mods <- mods
    tryCatch(suppressWarnings(do.call(rma.uni, args)), error = function(e) e)
  }
  res <- call_it(ctrl)
  # REML remedies, in order, only when Fisher scoring does not converge: a threshold relative
  # to the scale of yi (an absolute 1e-12 is below double precision when tau^2 ~ 1e5), then
  # metafor's documented smaller step (stepadj = 0.5, 0.25).
  remedies <- list(list(threshold = 1e-12 * max(1, var(yi))), list(stepadj = 0.5),
                   list(stepadj = 0.25))
  for (remedy in remedies) {
    if (!(inherits(res, "error") && method == "REML" &&
          grepl("did not converge", conditionMessage(res)))) break
    ctrl <- modifyList(ctrl, remedy)
    res <- call_it(ctrl)
  }
  # PM searches tau^2 only up to max(100, 10 * mad(yi)^2) and stops if the root lies beyond;
  # explorer.analysis.pooling keeps bracketing, so the reference is metafor with a wider range.
  if (inherits(res, "error") && method == "PM" && grepl("tau2.max", conditionMessage(res))) {
    ctrl$tau2.max <- 1e6
    res <- call_it(ctrl)
  }
  list(res = res, control = control_label(ctrl))
}

POOL_COLS <- c("k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "ddf",
               "tau2", "se_tau2", "I2", "H2", "QE", "QEp", "pi_lb", "pi_ub")

pool_row <- function(yi, vi, method, test) {
  fit <- fit_rma(yi, vi, method, test)
  res <- fit$res
  if (inherits(res, "error")) {
    row <- as.list(setNames(rep(NA_real_, length(POOL_COLS)), POOL_COLS))
    row$k <- sum(!is.na(yi) & !is.na(vi))
    row$error <- conditionMessage(res)
  } else {
    pr <- predict(res)
    row <- list(
      k = res$k, estimate = c(res$beta), se = res$se, zval = res$zval,
      pval = res$pval, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
      ddf = if (res$test == "z") NA_real_ else as.numeric(res$ddf),
      tau2 = res$tau2, se_tau2 = res$se.tau2, I2 = res$I2, H2 = res$H2,
      QE = res$QE, QEp = res$QEp,
      pi_lb = if (is.null(pr$pi.lb)) NA_real_ else pr$pi.lb,
      pi_ub = if (is.null(pr$pi.ub)) NA_real_ else pr$pi.ub,
      error = ""
    )
  }
  row$k <- as.integer(row$k)
  row$control <- fit$control
  as.data.frame(row, stringsAsFactors = FALSE)
}

# ----------------------------------------------------------- effect sizes ----

bcg <- dat.bcg
binary <- data.frame(
  case = c(sprintf("bcg%02d", bcg$trial), "zero_ai", "double_zero", "all_events_1",
           "missing_ai"),
  ai = c(bcg$tpos, 0, 0, 10, NA),
  n1 = c(bcg$tpos + bcg$tneg, 20, 20, 10, 30),
  ci = c(bcg$cpos, 5, 0, 3, 4),
  n2 = c(bcg$cpos + bcg$cneg, 20, 25, 12, 30)
)

es_rows <- list()
for (measure in c("RR", "OR", "RD")) {
  for (to in c("only0", "all", "if0all", "none")) {
    es <- suppressWarnings(escalc(measure, ai = binary$ai, bi = binary$n1 - binary$ai,
                                  ci = binary$ci, di = binary$n2 - binary$ci,
                                  add = 1 / 2, to = to, drop00 = FALSE))
    es_rows[[length(es_rows) + 1]] <- data.frame(
      measure = measure, to = to, add = 0.5, binary, yi = c(es$yi), vi = c(es$vi)
    )
  }
}
write_fixture(do.call(rbind, es_rows), "es_binary.csv")

nd <- dat.normand1999
cont <- data.frame(
  case = c(sprintf("normand%d", nd$study), "tiny_n", "missing_sd"),
  m1 = c(nd$m1i, 5, 3), sd1 = c(nd$sd1i, 2, NA), n1 = c(nd$n1i, 1, 10),
  m2 = c(nd$m2i, 4, 2), sd2 = c(nd$sd2i, 1, 1), n2 = c(nd$n2i, 2, 10)
)
cont_rows <- list()
for (measure in c("MD", "SMD")) {
  es <- suppressWarnings(escalc(measure, m1i = cont$m1, sd1i = cont$sd1, n1i = cont$n1,
                                m2i = cont$m2, sd2i = cont$sd2, n2i = cont$n2))
  cont_rows[[measure]] <- data.frame(measure = measure, cont, yi = c(es$yi), vi = c(es$vi))
}
write_fixture(do.call(rbind, cont_rows), "es_continuous.csv")

mn <- suppressWarnings(escalc("MN", mi = cont$m1, sdi = cont$sd1, ni = cont$n1))
write_fixture(data.frame(measure = "MN", case = cont$case, m = cont$m1, sd = cont$sd1,
                         n = cont$n1, yi = c(mn$yi), vi = c(mn$vi)),
              "es_mean.csv")

# Median/IQR/range conversions.  metafor 3.8-1 has no conv.fivenum() (it arrived
# in 4.0), so these are an independent R transcription of the published formulas:
#   mean, quartiles (Luo et al. 2018):
#       w = 0.7 + 0.39 / n;  mean = w * (q1 + q3) / 2 + (1 - w) * median
#   mean, range (Luo et al. 2018, eq. 15):
#       w = 4 / (4 + n^0.75);  mean = w * (min + max) / 2 + (1 - w) * median
#   sd, quartiles (Wan et al. 2014):    (q3 - q1) / (2 * qnorm((0.75 n - 0.125) / (n + 0.25)))
#   sd, range (Wan et al. 2014, eq. 9): (max - min) / (2 * qnorm((n - 0.375) / (n + 0.25)))
conv <- expand.grid(n = c(5, 10, 27, 50, 51, 200, 1000), shape = 1:3)
conv$median <- c(10, 3.2, -1.5)[conv$shape]
conv$q1 <- conv$median - c(2, 0.4, 1.1)[conv$shape]
conv$q3 <- conv$median + c(3, 0.5, 0.9)[conv$shape]
conv$minimum <- conv$q1 - c(4, 1.2, 2.5)[conv$shape]
conv$maximum <- conv$q3 + c(7, 1.1, 2.0)[conv$shape]
w_iqr <- 0.7 + 0.39 / conv$n
conv$mean_iqr <- w_iqr * (conv$q1 + conv$q3) / 2 + (1 - w_iqr) * conv$median
conv$sd_iqr <- (conv$q3 - conv$q1) / (2 * qnorm((0.75 * conv$n - 0.125) / (conv$n + 0.25)))
w_rng <- 4 / (4 + conv$n^0.75)
conv$mean_range <- w_rng * (conv$minimum + conv$maximum) / 2 + (1 - w_rng) * conv$median
conv$sd_range <- (conv$maximum - conv$minimum) / (2 * qnorm((conv$n - 0.375) / (conv$n + 0.25)))
conv$shape <- NULL
write_fixture(conv, "conversions.csv")

# ----------------------------------------------------------- pooling sets ----

datasets <- list()
# `subgroup` is only filled for dat.bcg (its allocation method), for the subgroup tests.
add_set <- function(name, yi, vi, subgroup = NA_character_) {
  datasets[[name]] <<- data.frame(dataset = name, study = seq_along(yi), yi = yi, vi = vi,
                                  subgroup = subgroup)
}
for (measure in c("RR", "OR", "RD")) {
  es <- escalc(measure, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
  add_set(paste0("bcg_", tolower(measure)), c(es$yi), c(es$vi), as.character(dat.bcg$alloc))
}
for (measure in c("MD", "SMD")) {
  es <- escalc(measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
               n2i = n2i, data = dat.normand1999)
  add_set(paste0("normand_", tolower(measure)), c(es$yi), c(es$vi))
}
# Q < k - 1: every estimator must truncate tau^2 at 0.
add_set("homogeneous", c(0.30, 0.31, 0.29, 0.305, 0.295), c(0.010, 0.020, 0.015, 0.012, 0.018))
# Identical outcomes: Q = 0, and the Knapp-Hartung scale factor is 0.
add_set("identical", rep(0.25, 4), c(0.01, 0.02, 0.03, 0.04))
add_set("k1", 0.42, 0.035)
add_set("k2", c(0.1, 0.9), c(0.04, 0.06))
# One zero sampling variance: metafor refuses FE/DL/PM, REML gives tau^2 > 0.
add_set("zero_var", c(0.1, 0.5, -0.3, 0.8, 0.2), c(0.02, 0, 0.03, 0.05, 0.01))
add_set("huge_het", c(-120, 35, 410, 980, 15, -60), c(0.5, 1.2, 0.8, 2, 0.3, 1))
# One outlier among tightly clustered studies: the PM root (~500) lies beyond metafor's default
# search range max(100, 10 * mad(yi)^2) = 100 (see fit_rma()).
add_set("pm_outlier", c(0, 0.1, -0.1, 0.05, 50), c(0.01, 0.01, 0.02, 0.01, 0.02))

# Two groups of the benchmark data (bench/bench_pooling.py) that exercise REML's failure modes:
#   reml_cycle  : plain Fisher scoring cycles forever (metafor: "did not converge");
#                 metafor's documented remedy stepadj = 0.5 converges (see fit_rma()).
#   reml_bimodal: Fisher scoring stops at a local maximum (tau^2 ~ 0.109) whose restricted
#                 likelihood is below that at tau^2 = 0; metafor's ll0check sets tau^2 = 0.
add_set("reml_cycle",
        c(0.75581780438975377, 0.73916779512818576, 1.0136753138871113, 0.60350674703359852,
          0.66599427859499372, 0.79901371869926574, 0.97543878096690084,
          -0.031705684209827667, 0.43218459369781653, 0.71278187981599983),
        c(0.3193156632994763, 0.11697387555322766, 0.017222485980549897, 0.31110127975906393,
          0.077158304084533183, 0.11428093176039597, 0.14911141209408113,
          0.47516482921581454, 0.35308919795824495, 0.054930363287332973))
add_set("reml_bimodal",
        c(1.8043749487904923, 1.7059436515415172, 1.6338383610954184, 1.3709343849840634,
          1.928988615506213, 1.6439938870705344, 2.9950681203732801, 0.81860935569524873,
          0.73190771584281977, 3.4328331520187176),
        c(0.072085353472019234, 0.032021146641572205, 0.27807053110775648, 0.31061140329442655,
          0.094361161487028292, 0.08069166961710908, 0.36936759889355542,
          0.27533969126564373, 0.25623448848188357, 0.42194952218234927))

set.seed(20240611)
rand_k <- c(2, 30, sample(2:30, 28, replace = TRUE))
for (i in seq_along(rand_k)) {
  k <- rand_k[i]
  scale <- sample(c(0.1, 1, 10), 1)
  tau2 <- sample(c(0, 0.02, 0.1, 0.5, 2), 1) * scale^2
  vi <- runif(k, 0.01, 0.3) * scale^2
  yi <- rnorm(k, mean = runif(1, -1, 1) * scale, sd = sqrt(vi + tau2))
  add_set(sprintf("rand%02d", i), yi, vi)
}

pool_inputs <- do.call(rbind, datasets)
write_fixture(pool_inputs, "pool_inputs.csv")

pool_rows <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  for (method in METHODS) {
    for (test in c("z", "knha", "adhoc")) {
      row <- pool_row(d$yi, d$vi, method, test)
      pool_rows[[length(pool_rows) + 1]] <- cbind(
        data.frame(dataset = name, method = method, test = test), row
      )
    }
  }
}
write_fixture(do.call(rbind, pool_rows), "pool_results.csv")

# ------------------------------------------------- leave1out, regtest, subgroup

bcg_rr <- datasets[["bcg_rr"]]
l1o_rows <- list()
reg_rows <- list()
for (method in METHODS) {
  for (test in c("z", "knha", "adhoc")) {
    fit <- fit_rma(bcg_rr$yi, bcg_rr$vi, method, test)
    l1o <- suppressWarnings(leave1out(fit$res))
    l1o_rows[[length(l1o_rows) + 1]] <- data.frame(
      dataset = "bcg_rr", method = method, test = test, left_out = seq_along(bcg_rr$yi),
      estimate = l1o$estimate, se = l1o$se,
      zval = if (test != "z") l1o$tval else l1o$zval, pval = l1o$pval,
      ci_lb = l1o$ci.lb, ci_ub = l1o$ci.ub, Q = l1o$Q, Qp = l1o$Qp,
      tau2 = if (is.null(l1o$tau2)) 0 else l1o$tau2, I2 = l1o$I2, H2 = l1o$H2,
      control = fit$control
    )
    rt <- suppressWarnings(regtest(fit$res, model = "rma", predictor = "sei"))
    reg_rows[[length(reg_rows) + 1]] <- data.frame(
      dataset = "bcg_rr", method = method, test = test, zval = rt$zval, pval = rt$pval,
      ddf = if (test != "z") as.numeric(rt$ddf) else NA_real_,
      limit_estimate = c(rt$est), limit_ci_lb = rt$ci.lb, limit_ci_ub = rt$ci.ub,
      tau2 = rt$fit$tau2, slope = c(rt$fit$beta)[2], control = fit$control
    )
  }
}
write_fixture(do.call(rbind, l1o_rows), "leave1out.csv")
write_fixture(do.call(rbind, reg_rows), "regtest.csv")

# Subgroup differences for dat.bcg (log RR) by allocation method.
#   separate: one rma() per subgroup (own tau^2), then the Cochrane/RevMan Q test
#             = QE of rma(estimates, sei = se, method = "FE").
#   common  : rma(yi, vi, mods = ~ factor(alloc)) with one tau^2; omnibus QM test.
alloc <- bcg_rr$subgroup
groups <- sort(unique(alloc))
sub_rows <- list()
for (method in METHODS) {
  for (test in c("z", "knha", "adhoc")) {
    fits <- lapply(groups, function(g) {
      sel <- alloc == g
      fit_rma(bcg_rr$yi[sel], bcg_rr$vi[sel], method, test)$res
    })
    est <- sapply(fits, function(f) c(f$beta))
    se <- sapply(fits, function(f) f$se)
    between <- rma.uni(est, sei = se, method = "FE")
    sub_rows[[length(sub_rows) + 1]] <- data.frame(
      dataset = "bcg_rr", by = "alloc", approach = "separate", method = method, test = test,
      Q = between$QE, df = between$k - 1, pval = between$QEp, tau2 = NA_real_,
      control = control_label(control_for(method))
    )
    common <- fit_rma(bcg_rr$yi, bcg_rr$vi, method, test, mods = ~ factor(alloc))
    res <- common$res
    sub_rows[[length(sub_rows) + 1]] <- data.frame(
      dataset = "bcg_rr", by = "alloc", approach = "common", method = method, test = test,
      Q = res$QM, df = res$QMdf[1], pval = res$QMp, tau2 = res$tau2,
      control = common$control
    )
  }
}
write_fixture(do.call(rbind, sub_rows), "subgroup.csv")

# ------------------------------------------------------------------ weights ----
# The forest plot's weights: metafor's weights() (in %) of each study, for datasets and
# estimators where tau^2 > 0 (random-effects weights 1/(vi + tau^2), normalised, differ from the
# fixed-effect ones), with FE and a homogeneous set (tau^2 = 0) for contrast.
weight_rows <- list()
for (name in c("bcg_rr", "normand_md", "normand_smd", "k2", "huge_het", "reml_cycle", "homogeneous")) {
  d <- datasets[[name]]
  for (method in METHODS) {
    fit <- fit_rma(d$yi, d$vi, method, "z")
    weight_rows[[length(weight_rows) + 1]] <- data.frame(
      dataset = name, method = method, study = d$study, yi = d$yi, vi = d$vi,
      tau2 = fit$res$tau2, weight = unname(weights(fit$res)), control = fit$control
    )
  }
}
write_fixture(do.call(rbind, weight_rows), "weights.csv")
