/*
 * mgcore C kernels: the V-cycle of constant-coefficient 2D and 3D Poisson-type problems
 * (5- and 7-point stencils, Dirichlet boundaries, nested grids n = 2^k - 1 per axis).
 *
 * Built on first use with the system C compiler into a per-user cache and
 * loaded with ctypes (mgcore/_ckernels/__init__.py); the same operations as the
 * numba kernels of the structured path (mgcore/sparse/_kernels.py), so the
 * iterates agree to round-off:
 *
 *   (A u)_ij = d u_ij - cx (u_{i-1,j} + u_{i+1,j}) - cy (u_{i,j-1} + u_{i,j+1}),
 *   u = 0 outside the grid; arrays are C-ordered [i][j] (axis 0 = x); in 3D
 *   likewise with a third term cz (u_{i,j,k-1} + u_{i,j,k+1}), arrays [i][j][k],
 *   and the wavefront runs over the planes i (red = even i + j + k).
 *
 * Red-black Gauss-Seidel (red = even i + j); the half-sweeps of all sweeps run
 * as one wavefront over the rows: at step i, sweep s updates colour 1 on row
 * i - 2s and colour 2 on row i - 2s - 1 -- exactly the unfused result with one
 * pass over memory.  Row i - 2 nsweeps is final at step i: its residual is
 * restricted (pre-smoothing, full weighting R = P^T / 4) or summed into the
 * residual norm (post-smoothing) in the same pass; the bilinear correction
 * u += P e runs one row ahead of the post-smoothing wavefront.
 *
 * No global state; every buffer is passed in.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MGK_VERSION 3

int mgk_version(void) { return MGK_VERSION; }

typedef struct {
    double cx, cy, d, invd;
} stencil2;

/* Points of parity par ((i + j) % 2 == par) of row i: Gauss-Seidel update. */
static void gs_row2(double *restrict u, const double *restrict f, int n0, int n1, int i, int par,
                    const stencil2 *s, const double *zero)
{
    double *ui = u + (size_t)i * n1;
    const double *fi = f + (size_t)i * n1;
    const double *up = i > 0 ? ui - n1 : zero;
    const double *dn = i < n0 - 1 ? ui + n1 : zero;
    const double cx = s->cx, cy = s->cy, invd = s->invd;
    int j = ((par - i) % 2 + 2) % 2;
    if (n1 == 1) {
        if (j == 0) ui[0] = (fi[0] + cx * (up[0] + dn[0])) * invd;
        return;
    }
    if (j == 0) {
        ui[0] = (fi[0] + cx * (up[0] + dn[0]) + cy * ui[1]) * invd;
        j = 2;
    }
    for (; j < n1 - 1; j += 2)
        ui[j] = (fi[j] + cx * (up[j] + dn[j]) + cy * (ui[j - 1] + ui[j + 1])) * invd;
    if (j == n1 - 1)
        ui[j] = (fi[j] + cx * (up[j] + dn[j]) + cy * ui[j - 1]) * invd;
}

/* r = f - A u on row i (r has n1 entries). */
static void res_row2(const double *restrict u, const double *restrict f, int n0, int n1, int i,
                     const stencil2 *s, const double *zero, double *restrict r)
{
    const double *ui = u + (size_t)i * n1;
    const double *fi = f + (size_t)i * n1;
    const double *up = i > 0 ? ui - n1 : zero;
    const double *dn = i < n0 - 1 ? ui + n1 : zero;
    const double cx = s->cx, cy = s->cy, d = s->d;
    if (n1 == 1) {
        r[0] = fi[0] - (d * ui[0] - cx * (up[0] + dn[0]));
        return;
    }
    r[0] = fi[0] - (d * ui[0] - cx * (up[0] + dn[0]) - cy * ui[1]);
    for (int j = 1; j < n1 - 1; j++)
        r[j] = fi[j] - (d * ui[j] - cx * (up[j] + dn[j]) - cy * (ui[j - 1] + ui[j + 1]));
    r[n1 - 1] = fi[n1 - 1] - (d * ui[n1 - 1] - cx * (up[n1 - 1] + dn[n1 - 1]) - cy * ui[n1 - 2]);
}

/* Step i of the fused wavefront (see the file comment). */
static void wavefront_step2(double *u, const double *f, int n0, int n1, int nsweeps, int c1, int i,
                            const stencil2 *s, const double *zero)
{
    for (int k = 0; k < nsweeps; k++) {
        int r1 = i - 2 * k, r2 = r1 - 1;
        if (r1 >= 0 && r1 < n0) gs_row2(u, f, n0, n1, r1, c1, s, zero);
        if (r2 >= 0 && r2 < n0) gs_row2(u, f, n0, n1, r2, 1 - c1, s, zero);
    }
}

/* Full weighting of three fine residual rows (a, c, b: rows 2I, 2I+1, 2I+2) into coarse row fc. */
static void fw_rows2(const double *a, const double *c, const double *b, int n1, double *fc)
{
    int nc1 = (n1 - 1) / 2;
    for (int J = 0; J < nc1; J++) {
        int q = 2 * J + 1;
        double ta = a[q - 1] + 2.0 * a[q] + a[q + 1];
        double tc = c[q - 1] + 2.0 * c[q] + c[q + 1];
        double tb = b[q - 1] + 2.0 * b[q] + b[q + 1];
        fc[J] = (ta + 2.0 * tc + tb) * 0.0625;
    }
}

/*
 * nsweeps red-black sweeps of u (red first when red_first) and, when fc is not
 * NULL, fc = R (f - A u); when ssq is not NULL, *ssq = ||f - A u||^2.
 * work: 4 * n1 doubles.
 */
static void smooth_restrict2(double *u, const double *f, int n0, int n1, const stencil2 *s, int nsweeps,
                             int red_first, double *fc, double *ssq, double *work, const double *zero)
{
    int c1 = red_first ? 0 : 1;
    double *ring[3] = {work, work + n1, work + 2 * n1};
    double acc = 0.0;
    int tail = (fc != NULL || ssq != NULL) ? 1 : 0;
    int steps = n0 + 2 * nsweeps - 1 + tail;
    for (int i = 0; i < steps; i++) {
        wavefront_step2(u, f, n0, n1, nsweeps, c1, i, s, zero);
        int rr = i - 2 * nsweeps;
        if (!tail || rr < 0 || rr >= n0) continue;
        double *r = ring[rr % 3];
        res_row2(u, f, n0, n1, rr, s, zero, r);
        if (ssq != NULL)
            for (int j = 0; j < n1; j++) acc += r[j] * r[j];
        if (fc != NULL && rr >= 2 && rr % 2 == 0)
            fw_rows2(ring[(rr - 2) % 3], ring[(rr - 1) % 3], r, n1, fc + (size_t)((rr - 2) / 2) * ((n1 - 1) / 2));
    }
    if (ssq != NULL) *ssq = acc;
}

/* Fine row r of u += P e (bilinear; coarse node I sits on fine node 2 I + 1). */
static void prolong_row2(double *u, const double *e, int n0, int n1, int r, double *erow)
{
    int nc0 = (n0 - 1) / 2, nc1 = (n1 - 1) / 2;
    double *ur = u + (size_t)r * n1;
    /* erow[0..nc1+1]: the coarse values interpolated to fine row r, zero-padded */
    erow[0] = 0.0;
    erow[nc1 + 1] = 0.0;
    if (r % 2 == 1) {
        const double *ec = e + (size_t)((r - 1) / 2) * nc1;
        for (int J = 0; J < nc1; J++) erow[J + 1] = ec[J];
    } else {
        int I = r / 2; /* between coarse rows I - 1 and I */
        const double *ea = I - 1 >= 0 ? e + (size_t)(I - 1) * nc1 : NULL;
        const double *eb = I < nc0 ? e + (size_t)I * nc1 : NULL;
        for (int J = 0; J < nc1; J++) erow[J + 1] = 0.5 * ((ea ? ea[J] : 0.0) + (eb ? eb[J] : 0.0));
    }
    for (int J = 0; J <= nc1; J++) {
        /* fine 2J: between coarse J - 1 and J (erow index J and J + 1); fine 2J + 1: coarse J */
        ur[2 * J] += 0.5 * (erow[J] + erow[J + 1]);
        if (J < nc1) ur[2 * J + 1] += erow[J + 1];
    }
}

/*
 * u += P e, then nsweeps red-black sweeps (red first when red_first), in one
 * pass; *ssq = ||f - A u||^2 when ssq is not NULL.  work: 4 * n1 + nc1 + 2 doubles.
 */
static void prolong_smooth2(double *u, const double *f, const double *e, int n0, int n1, const stencil2 *s,
                            int nsweeps, int red_first, double *ssq, double *work, const double *zero)
{
    int c1 = red_first ? 0 : 1;
    double *ring[3] = {work, work + n1, work + 2 * n1};
    double *erow = work + 4 * n1;
    double acc = 0.0;
    int done = 0; /* fine rows already corrected */
    int steps = n0 + 2 * nsweeps - 1 + (ssq != NULL ? 1 : 0);
    if (nsweeps == 0 && ssq == NULL) steps = 0;
    for (int i = 0; i < steps; i++) {
        while (done < n0 && done <= i + 1) prolong_row2(u, e, n0, n1, done++, erow);
        wavefront_step2(u, f, n0, n1, nsweeps, c1, i, s, zero);
        int rr = i - 2 * nsweeps;
        if (ssq != NULL && rr >= 0 && rr < n0) {
            double *r = ring[rr % 3];
            res_row2(u, f, n0, n1, rr, s, zero, r);
            for (int j = 0; j < n1; j++) acc += r[j] * r[j];
        }
    }
    while (done < n0) prolong_row2(u, e, n0, n1, done++, erow);
    if (ssq != NULL) *ssq = acc;
}

/* u = M f with the dense (n x n, row-major) inverse M of the coarsest operator. */
static void dense_solve(const double *M, const double *f, double *u, int n)
{
    for (int p = 0; p < n; p++) {
        const double *m = M + (size_t)p * n;
        double acc = 0.0;
        for (int q = 0; q < n; q++) acc += m[q] * f[q];
        u[p] = acc;
    }
}

/* ||f - A u||^2 on one level. work: n1 doubles. */
double mgk_resnorm2(const double *u, const double *f, int n0, int n1, const double *cst, double *work,
                    const double *zero)
{
    stencil2 s = {cst[0], cst[1], cst[2], cst[3]};
    double acc = 0.0;
    for (int i = 0; i < n0; i++) {
        res_row2(u, f, n0, n1, i, &s, zero, work);
        for (int j = 0; j < n1; j++) acc += work[j] * work[j];
    }
    return acc;
}

/* nsweeps red-black sweeps on one level (tests and the single-level solver). */
void mgk_rbgs2(double *u, const double *f, int n0, int n1, const double *cst, int nsweeps, int red_first,
               const double *zero)
{
    stencil2 s = {cst[0], cst[1], cst[2], cst[3]};
    smooth_restrict2(u, f, n0, n1, &s, nsweeps, red_first, NULL, NULL, NULL, zero);
}

/*
 * One V(nu1, nu2)-cycle on J levels (level 0 = finest), in place on u[0].
 *   shape: n0, n1 of every level (2 J ints); cst: cx, cy, d, 1/d of every level (4 J doubles)
 *   u, f: level buffers (f[0] is the right-hand side; f[l > 0] are written)
 *   Minv: dense inverse of the coarsest operator
 *   pre-smoothing red first; post-smoothing red first when post_red_first (else black first)
 *   work: 5 * n1_max + 2 doubles; zero: n1_max zeros
 * Returns ||f - A u||^2 of the new iterate (summed during the last sweep).
 */
double mgk_vcycle2(int J, const int *shape, const double *cst, double *const *u, double *const *f,
                   const double *Minv, int nu1, int nu2, int post_red_first, double *work, const double *zero)
{
    double ssq = 0.0;
    for (int l = 0; l < J - 1; l++) {
        stencil2 s = {cst[4 * l], cst[4 * l + 1], cst[4 * l + 2], cst[4 * l + 3]};
        int n0 = shape[2 * l], n1 = shape[2 * l + 1];
        if (l > 0) memset(u[l], 0, sizeof(double) * (size_t)n0 * n1);
        smooth_restrict2(u[l], f[l], n0, n1, &s, nu1, 1, f[l + 1], NULL, work, zero);
    }
    {
        int l = J - 1;
        int n = shape[2 * l] * shape[2 * l + 1];
        dense_solve(Minv, f[l], u[l], n);
    }
    for (int l = J - 2; l >= 0; l--) {
        stencil2 s = {cst[4 * l], cst[4 * l + 1], cst[4 * l + 2], cst[4 * l + 3]};
        int n0 = shape[2 * l], n1 = shape[2 * l + 1];
        prolong_smooth2(u[l], f[l], u[l + 1], n0, n1, &s, nu2, post_red_first, l == 0 ? &ssq : NULL, work, zero);
    }
    if (J == 1)
        ssq = mgk_resnorm2(u[0], f[0], shape[0], shape[1], cst, work, zero);
    return ssq;
}

/* ------------------------------------------------------------------ 3D */

typedef struct {
    double cx, cy, cz, d, invd;
} stencil3;

/* Points of parity par ((i + j + k) % 2 == par) of plane i: Gauss-Seidel update. */
static void gs_plane3(double *restrict u, const double *restrict f, int n0, int n1, int n2, int i, int par,
                      const stencil3 *s, const double *zero)
{
    const size_t np = (size_t)n1 * n2;
    const double cx = s->cx, cy = s->cy, cz = s->cz, invd = s->invd;
    for (int j = 0; j < n1; j++) {
        double *ui = u + i * np + (size_t)j * n2;
        const double *fi = f + i * np + (size_t)j * n2;
        const double *up = i > 0 ? ui - np : zero;
        const double *dn = i < n0 - 1 ? ui + np : zero;
        const double *lf = j > 0 ? ui - n2 : zero;
        const double *rt = j < n1 - 1 ? ui + n2 : zero;
        int k = ((par - i - j) % 2 + 2) % 2;
        if (n2 == 1) {
            if (k == 0) ui[0] = (fi[0] + cx * (up[0] + dn[0]) + cy * (lf[0] + rt[0])) * invd;
            continue;
        }
        if (k == 0) {
            ui[0] = (fi[0] + cx * (up[0] + dn[0]) + cy * (lf[0] + rt[0]) + cz * ui[1]) * invd;
            k = 2;
        }
        for (; k < n2 - 1; k += 2)
            ui[k] = (fi[k] + cx * (up[k] + dn[k]) + cy * (lf[k] + rt[k]) + cz * (ui[k - 1] + ui[k + 1])) * invd;
        if (k == n2 - 1)
            ui[k] = (fi[k] + cx * (up[k] + dn[k]) + cy * (lf[k] + rt[k]) + cz * ui[k - 1]) * invd;
    }
}

/* r = f - A u on plane i (r has n1 * n2 entries). */
static void res_plane3(const double *restrict u, const double *restrict f, int n0, int n1, int n2, int i,
                       const stencil3 *s, const double *zero, double *restrict r)
{
    const size_t np = (size_t)n1 * n2;
    const double cx = s->cx, cy = s->cy, cz = s->cz, d = s->d;
    for (int j = 0; j < n1; j++) {
        const double *ui = u + i * np + (size_t)j * n2;
        const double *fi = f + i * np + (size_t)j * n2;
        const double *up = i > 0 ? ui - np : zero;
        const double *dn = i < n0 - 1 ? ui + np : zero;
        const double *lf = j > 0 ? ui - n2 : zero;
        const double *rt = j < n1 - 1 ? ui + n2 : zero;
        double *rj = r + (size_t)j * n2;
        if (n2 == 1) {
            rj[0] = fi[0] - (d * ui[0] - cx * (up[0] + dn[0]) - cy * (lf[0] + rt[0]));
            continue;
        }
        rj[0] = fi[0] - (d * ui[0] - cx * (up[0] + dn[0]) - cy * (lf[0] + rt[0]) - cz * ui[1]);
        for (int k = 1; k < n2 - 1; k++)
            rj[k] = fi[k] - (d * ui[k] - cx * (up[k] + dn[k]) - cy * (lf[k] + rt[k]) - cz * (ui[k - 1] + ui[k + 1]));
        int k = n2 - 1;
        rj[k] = fi[k] - (d * ui[k] - cx * (up[k] + dn[k]) - cy * (lf[k] + rt[k]) - cz * ui[k - 1]);
    }
}

static void wavefront_step3(double *u, const double *f, int n0, int n1, int n2, int nsweeps, int c1, int i,
                            const stencil3 *s, const double *zero)
{
    for (int k = 0; k < nsweeps; k++) {
        int r1 = i - 2 * k, r2 = r1 - 1;
        if (r1 >= 0 && r1 < n0) gs_plane3(u, f, n0, n1, n2, r1, c1, s, zero);
        if (r2 >= 0 && r2 < n0) gs_plane3(u, f, n0, n1, n2, r2, 1 - c1, s, zero);
    }
}

/* Full weighting of three fine residual planes (2I, 2I+1, 2I+2) into coarse plane fc. */
static void fw_planes3(const double *a, const double *c, const double *b, int n1, int n2, double *fc)
{
    int nc1 = (n1 - 1) / 2, nc2 = (n2 - 1) / 2;
    const double *pl[3] = {a, c, b};
    const double w[3] = {1.0, 2.0, 1.0};
    for (int J = 0; J < nc1; J++)
        for (int K = 0; K < nc2; K++) {
            double acc = 0.0;
            for (int p = 0; p < 3; p++) {
                double tp = 0.0;
                for (int q = 0; q < 3; q++) {
                    const double *row = pl[p] + (size_t)(2 * J + q) * n2 + 2 * K;
                    tp += w[q] * (row[0] + 2.0 * row[1] + row[2]);
                }
                acc += w[p] * tp;
            }
            fc[(size_t)J * nc2 + K] = acc * 0.015625;
        }
}

/* nsweeps sweeps (red first when red_first), then fc = R (f - A u) and/or *ssq = ||f - A u||^2.
 * work: 3 * n1 * n2 doubles. */
static void smooth_restrict3(double *u, const double *f, int n0, int n1, int n2, const stencil3 *s, int nsweeps,
                             int red_first, double *fc, double *ssq, double *work, const double *zero)
{
    const size_t np = (size_t)n1 * n2;
    int c1 = red_first ? 0 : 1;
    double *ring[3] = {work, work + np, work + 2 * np};
    double acc = 0.0;
    int tail = (fc != NULL || ssq != NULL) ? 1 : 0;
    int steps = n0 + 2 * nsweeps - 1 + tail;
    size_t ncp = (size_t)((n1 - 1) / 2) * ((n2 - 1) / 2);
    for (int i = 0; i < steps; i++) {
        wavefront_step3(u, f, n0, n1, n2, nsweeps, c1, i, s, zero);
        int rr = i - 2 * nsweeps;
        if (!tail || rr < 0 || rr >= n0) continue;
        double *r = ring[rr % 3];
        res_plane3(u, f, n0, n1, n2, rr, s, zero, r);
        if (ssq != NULL)
            for (size_t q = 0; q < np; q++) acc += r[q] * r[q];
        if (fc != NULL && rr >= 2 && rr % 2 == 0)
            fw_planes3(ring[(rr - 2) % 3], ring[(rr - 1) % 3], r, n1, n2, fc + (size_t)((rr - 2) / 2) * ncp);
    }
    if (ssq != NULL) *ssq = acc;
}

/* Fine plane r of u += P e (trilinear).  work: nc1 * nc2 + nc2 + 2 doubles. */
static void prolong_plane3(double *u, const double *e, int n0, int n1, int n2, int r, double *work)
{
    int nc0 = (n0 - 1) / 2, nc1 = (n1 - 1) / 2, nc2 = (n2 - 1) / 2;
    size_t ncp = (size_t)nc1 * nc2;
    const double *ep;
    if (r % 2 == 1) {
        ep = e + (size_t)((r - 1) / 2) * ncp;
    } else {
        int I = r / 2;
        const double *ea = I - 1 >= 0 ? e + (size_t)(I - 1) * ncp : NULL;
        const double *eb = I < nc0 ? e + (size_t)I * ncp : NULL;
        for (size_t q = 0; q < ncp; q++) work[q] = 0.5 * ((ea ? ea[q] : 0.0) + (eb ? eb[q] : 0.0));
        ep = work;
    }
    double *up = u + (size_t)r * n1 * n2;
    for (int j = 0; j < n1; j++) prolong_row2(up, ep, n1, n2, j, work + ncp);
}

/* u += P e, then nsweeps sweeps, in one pass; *ssq = ||f - A u||^2 when ssq is not NULL.
 * work: 3 n1 n2 + nc1 nc2 + nc2 + 2 doubles. */
static void prolong_smooth3(double *u, const double *f, const double *e, int n0, int n1, int n2, const stencil3 *s,
                            int nsweeps, int red_first, double *ssq, double *work, const double *zero)
{
    const size_t np = (size_t)n1 * n2;
    int c1 = red_first ? 0 : 1;
    double *ring[3] = {work, work + np, work + 2 * np};
    double *pw = work + 3 * np;
    double acc = 0.0;
    int done = 0;
    int steps = n0 + 2 * nsweeps - 1 + (ssq != NULL ? 1 : 0);
    if (nsweeps == 0 && ssq == NULL) steps = 0;
    for (int i = 0; i < steps; i++) {
        while (done < n0 && done <= i + 1) prolong_plane3(u, e, n0, n1, n2, done++, pw);
        wavefront_step3(u, f, n0, n1, n2, nsweeps, c1, i, s, zero);
        int rr = i - 2 * nsweeps;
        if (ssq != NULL && rr >= 0 && rr < n0) {
            double *r = ring[rr % 3];
            res_plane3(u, f, n0, n1, n2, rr, s, zero, r);
            for (size_t q = 0; q < np; q++) acc += r[q] * r[q];
        }
    }
    while (done < n0) prolong_plane3(u, e, n0, n1, n2, done++, pw);
    if (ssq != NULL) *ssq = acc;
}

/* ||f - A u||^2 on one 3D level. work: n1 * n2 doubles; zero: n1 * n2 zeros. */
double mgk_resnorm3(const double *u, const double *f, int n0, int n1, int n2, const double *cst, double *work,
                    const double *zero)
{
    stencil3 s = {cst[0], cst[1], cst[2], cst[3], cst[4]};
    size_t np = (size_t)n1 * n2;
    double acc = 0.0;
    for (int i = 0; i < n0; i++) {
        res_plane3(u, f, n0, n1, n2, i, &s, zero, work);
        for (size_t q = 0; q < np; q++) acc += work[q] * work[q];
    }
    return acc;
}

/*
 * One 3D V(nu1, nu2)-cycle (see mgk_vcycle2): shape holds 3 J ints, cst 5 J doubles
 * (cx, cy, cz, d, 1/d); work: 3 n1 n2 + nc1 nc2 + nc2 + 2 doubles of the finest level;
 * zero: n1 n2 zeros of the finest level.
 */
double mgk_vcycle3(int J, const int *shape, const double *cst, double *const *u, double *const *f,
                   const double *Minv, int nu1, int nu2, int post_red_first, double *work, const double *zero)
{
    double ssq = 0.0;
    for (int l = 0; l < J - 1; l++) {
        const double *c = cst + 5 * l;
        stencil3 s = {c[0], c[1], c[2], c[3], c[4]};
        int n0 = shape[3 * l], n1 = shape[3 * l + 1], n2 = shape[3 * l + 2];
        if (l > 0) memset(u[l], 0, sizeof(double) * (size_t)n0 * n1 * n2);
        smooth_restrict3(u[l], f[l], n0, n1, n2, &s, nu1, 1, f[l + 1], NULL, work, zero);
    }
    {
        int l = J - 1;
        dense_solve(Minv, f[l], u[l], shape[3 * l] * shape[3 * l + 1] * shape[3 * l + 2]);
    }
    for (int l = J - 2; l >= 0; l--) {
        const double *c = cst + 5 * l;
        stencil3 s = {c[0], c[1], c[2], c[3], c[4]};
        int n0 = shape[3 * l], n1 = shape[3 * l + 1], n2 = shape[3 * l + 2];
        prolong_smooth3(u[l], f[l], u[l + 1], n0, n1, n2, &s, nu2, post_red_first, l == 0 ? &ssq : NULL, work, zero);
    }
    if (J == 1)
        ssq = mgk_resnorm3(u[0], f[0], shape[0], shape[1], shape[2], cst, work, zero);
    return ssq;
}

/* ------------------------------------------------------- mixed precision, 2D */
/*
 * Float32 V-cycles inside a float64 residual refinement (x <- x + C(b - A x)),
 * constant-coefficient 2D Dirichlet levels, n1 odd (nested grids 2^k - 1).
 *
 * The float32 level arrays (the correction e and its right-hand side f of every
 * level; f of the finest level is the residual r = b - A x) are stored colour-split:
 * row i of an n0 x n1 level holds W = n1 + 1 floats, first E[m] = v[i][2m]
 * (m < ne = (n1 + 1) / 2), then O[m] = v[i][2m + 1] (m < ne - 1) and one zero pad.
 * A red-black half-sweep then updates one contiguous half-row from the other half
 * and the same half of the neighbour rows: unit-stride, vectorised loops, in place.
 * The float64 iterate x and right-hand side b keep the natural layout.
 *
 * A refinement step is the coarse-grid part of the cycle (levels 1..J-1) and one
 * pass over the finest level doing, row by row behind one another:
 *   A. e += P e_1 and nu2 post-smoothing sweeps of A e = r (float32);
 *   B. x += e (float64) and the new residual r = b - A x (float64, stored float32)
 *      with its squared norm;
 *   C. nu1 pre-smoothing sweeps of the next correction A e = r from e = 0 and the
 *      full-weighting restriction f_1 = R (r - A e) of its residual,
 * so a step reads x and b once, and the next step starts with its coarse levels.
 * (Higham, Accuracy and Stability of Numerical Algorithms, 2002, Sec. 12.1, for
 * the refinement; the cycle is that of the float64 kernels above.)
 */

#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* out[2k] = a[k], out[2k + 1] = b[k], k < n */
static void interleave_f(const float *restrict a, const float *restrict b, float *restrict out, int n)
{
    int k = 0;
#if defined(__AVX2__)
    for (; k + 8 <= n; k += 8) {
        __m256 va = _mm256_loadu_ps(a + k), vb = _mm256_loadu_ps(b + k);
        __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
        _mm256_storeu_ps(out + 2 * k, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(out + 2 * k + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
#endif
    for (; k < n; k++) {
        out[2 * k] = a[k];
        out[2 * k + 1] = b[k];
    }
}

/* x[2k] += a[k], x[2k + 1] += b[k] (k < n), float32 addends, float64 sums */
static void interleave_add_d(double *restrict x, const float *restrict a, const float *restrict b, int n)
{
    int k = 0;
#if defined(__AVX2__)
    for (; k + 4 <= n; k += 4) {
        __m256d va = _mm256_cvtps_pd(_mm_loadu_ps(a + k)), vb = _mm256_cvtps_pd(_mm_loadu_ps(b + k));
        __m256d lo = _mm256_unpacklo_pd(va, vb), hi = _mm256_unpackhi_pd(va, vb);
        __m256d x0 = _mm256_loadu_pd(x + 2 * k), x1 = _mm256_loadu_pd(x + 2 * k + 4);
        _mm256_storeu_pd(x + 2 * k, _mm256_add_pd(x0, _mm256_permute2f128_pd(lo, hi, 0x20)));
        _mm256_storeu_pd(x + 2 * k + 4, _mm256_add_pd(x1, _mm256_permute2f128_pd(lo, hi, 0x31)));
    }
#endif
    for (; k < n; k++) {
        x[2 * k] += (double)a[k];
        x[2 * k + 1] += (double)b[k];
    }
}

/* a[k] = (float) t[2k], b[k] = (float) t[2k + 1], k < n */
static void deinterleave_cast(const double *restrict t, float *restrict a, float *restrict b, int n)
{
    int k = 0;
#if defined(__AVX2__)
    for (; k + 4 <= n; k += 4) {
        __m128 p = _mm256_cvtpd_ps(_mm256_loadu_pd(t + 2 * k)), q = _mm256_cvtpd_ps(_mm256_loadu_pd(t + 2 * k + 4));
        _mm_storeu_ps(a + k, _mm_shuffle_ps(p, q, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm_storeu_ps(b + k, _mm_shuffle_ps(p, q, _MM_SHUFFLE(3, 1, 3, 1)));
    }
#endif
    for (; k < n; k++) {
        a[k] = (float)t[2 * k];
        b[k] = (float)t[2 * k + 1];
    }
}

typedef struct {
    float cx, cy, d, inv;
} stf2;


/*
 * The colour updates and residuals of a span of n points of a half-row, in vectors of
 * eight with the last vector overlapping the one before (recomputing a point is
 * harmless: the half-row written is never read by its own update), so a half-row of
 * 63 points takes eight vectors and no scalar tail; Nl / Nr: the left / right
 * neighbours in the other half-row.  The arithmetic is that of the scalar loop.
 */
#if defined(__AVX2__)
#define MGK_SPAN(n, VEXPR, SEXPR)                                     \
    do {                                                              \
        int m_ = 0;                                                   \
        if ((n) >= 8) {                                               \
            for (; m_ + 8 <= (n); m_ += 8) VEXPR;                     \
            if (m_ < (n)) {                                           \
                m_ = (n) - 8;                                         \
                VEXPR;                                                \
            }                                                         \
        } else {                                                      \
            for (; m_ < (n); m_++) SEXPR;                             \
        }                                                             \
    } while (0)
#define LD(p) _mm256_loadu_ps((p) + m_)
#define ST(p, v) _mm256_storeu_ps((p) + m_, v)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#else
#define MGK_SPAN(n, VEXPR, SEXPR)                                     \
    do {                                                              \
        for (int m_ = 0; m_ < (n); m_++) SEXPR;                       \
    } while (0)
#endif

static void gs2_span(float *restrict T, const float *restrict F, const float *restrict A, const float *restrict B,
                     const float *restrict Nl, const float *restrict Nr, int n, stf2 s)
{
#if defined(__AVX2__)
    const __m256 vx = _mm256_set1_ps(s.cx), vy = _mm256_set1_ps(s.cy), vi = _mm256_set1_ps(s.inv);
#endif
    MGK_SPAN(n, ST(T, MUL(ADD(ADD(LD(F), MUL(vx, ADD(LD(A), LD(B)))), MUL(vy, ADD(LD(Nl), LD(Nr)))), vi)),
             T[m_] = (F[m_] + s.cx * (A[m_] + B[m_]) + s.cy * (Nl[m_] + Nr[m_])) * s.inv);
}

static void res2_span(float *restrict R, const float *restrict U, const float *restrict F, const float *restrict A,
                      const float *restrict B, const float *restrict Nl, const float *restrict Nr, int n, stf2 s)
{
#if defined(__AVX2__)
    const __m256 vx = _mm256_set1_ps(s.cx), vy = _mm256_set1_ps(s.cy), vd = _mm256_set1_ps(s.d);
#endif
    MGK_SPAN(n, ST(R, SUB(LD(F), SUB(SUB(MUL(vd, LD(U)), MUL(vx, ADD(LD(A), LD(B)))), MUL(vy, ADD(LD(Nl), LD(Nr)))))),
             R[m_] = F[m_] - (s.d * U[m_] - s.cx * (A[m_] + B[m_]) - s.cy * (Nl[m_] + Nr[m_])));
}

/* Colour c (0: red, i + j even) of split row i, in place; A, B: split rows i - 1, i + 1 (or a zero row). */
static void gsf_row(float *restrict row, const float *restrict F, const float *restrict A,
                           const float *restrict B, int i, int c, int ne, stf2 s)
{
    const float cx = s.cx, cy = s.cy, inv = s.inv;
    if (((i + c) & 1) == 0) {
        float *restrict T = row;
        const float *restrict N = row + ne;
        T[0] = (F[0] + cx * (A[0] + B[0]) + cy * N[0]) * inv;
        gs2_span(T + 1, F + 1, A + 1, B + 1, N, N + 1, ne - 1, s);
    } else {
        gs2_span(row + ne, F + ne, A + ne, B + ne, row, row + 1, ne - 1, s);
    }
}

/* Residual f - A v of split row i into R (split; pad zero). */
static void resf_row(const float *restrict row, const float *restrict F, const float *restrict A,
                            const float *restrict B, int ne, stf2 s, float *restrict R)
{
    const float cx = s.cx, cy = s.cy, d = s.d;
    const float *restrict Ev = row, *restrict Ov = row + ne;
    R[0] = F[0] - (d * Ev[0] - cx * (A[0] + B[0]) - cy * Ov[0]);
    res2_span(R + 1, Ev + 1, F + 1, A + 1, B + 1, Ov, Ov + 1, ne - 1, s);
    res2_span(R + ne, Ov, F + ne, A + ne, B + ne, Ev, Ev + 1, ne - 1, s);
    R[2 * ne - 1] = 0.0f;
}

/* Full weighting of split residual rows a, c, b (fine rows 2I, 2I + 1, 2I + 2) into split coarse row fc. */
static void fwf_rows(const float *restrict a, const float *restrict c, const float *restrict b, int ne,
                            float *restrict tmp, float *restrict fc)
{
    int nc1 = ne - 1, nce = (nc1 + 1) / 2;
    const float *restrict aO = a + ne, *restrict cO = c + ne, *restrict bO = b + ne;
    for (int J = 0; J < nc1; J++) {
        float ta = a[J] + 2.0f * aO[J] + a[J + 1];
        float tc = c[J] + 2.0f * cO[J] + c[J + 1];
        float tb = b[J] + 2.0f * bO[J] + b[J + 1];
        tmp[J] = (ta + 2.0f * tc + tb) * 0.0625f;
    }
    for (int K = 0; K < nce; K++) fc[K] = tmp[2 * K];
    for (int K = 0; K < nce - 1; K++) fc[nce + K] = tmp[2 * K + 1];
    fc[2 * nce - 1] = 0.0f;
}

/* Split fine row r of e += P ec (bilinear; coarse node I sits on fine node 2 I + 1); v: 2 nc1 + 4 floats. */
static void prolongf_row(float *restrict er, const float *ec, int nc0, int ne, int r, float *restrict v)
{
    int nc1 = ne - 1, nce = (nc1 + 1) / 2, Wc = 2 * nce;
    v[0] = 0.0f;
    v[nc1 + 1] = 0.0f;
    /* nc1 = 2 nce - 1: the split coarse row (with its zero pad) interleaves into v[1 .. nc1 + 1] */
    if (r & 1) {
        const float *restrict q = ec + (size_t)((r - 1) / 2) * Wc;
        interleave_f(q, q + nce, v + 1, nce);
    } else {
        int I = r / 2;
        const float *qa = I - 1 >= 0 ? ec + (size_t)(I - 1) * Wc : NULL;
        const float *qb = I < nc0 ? ec + (size_t)I * Wc : NULL;
        float *restrict h = v + nc1 + 2; /* the averaged coarse row, Wc floats */
        if (qa && qb) {
            for (int K = 0; K < Wc; K++) h[K] = 0.5f * (qa[K] + qb[K]);
        } else {
            const float *q = qa ? qa : qb;
            for (int K = 0; K < Wc; K++) h[K] = 0.5f * q[K];
        }
        interleave_f(h, h + nce, v + 1, nce);
    }
    v[nc1 + 1] = 0.0f;
    float *restrict E = er, *restrict O = er + ne;
    for (int m = 0; m < ne; m++) E[m] += 0.5f * (v[m] + v[m + 1]);
    for (int m = 0; m < ne - 1; m++) O[m] += v[m + 1];
}

/* Wavefront step i of ns red-black sweeps (colour c1 first) on a split level, in place. */
/* Row (2D) or plane (3D) t of a right-hand side held whole (fslots = 0) or in a ring of fslots rows / planes
 * of S floats each. */
#define FROW(f, t, fslots, S) ((f) + (size_t)((fslots) ? (t) % (fslots) : (t)) * (S))

static void wstepf(float *e, const float *f, int fslots, int n0, int ne, int ns, int c1, int i, stf2 s,
                   const float *zero)
{
    const size_t W = (size_t)2 * ne;
    for (int k = 0; k < ns; k++) {
        int r1 = i - 2 * k, r2 = r1 - 1;
        if (r1 >= 0 && r1 < n0)
            gsf_row(e + r1 * W, FROW(f, r1, fslots, W), r1 > 0 ? e + (r1 - 1) * W : zero, r1 < n0 - 1 ? e + (r1 + 1) * W : zero,
                    r1, c1, ne, s);
        if (r2 >= 0 && r2 < n0)
            gsf_row(e + r2 * W, FROW(f, r2, fslots, W), r2 > 0 ? e + (r2 - 1) * W : zero, r2 < n0 - 1 ? e + (r2 + 1) * W : zero,
                    r2, 1 - c1, ne, s);
    }
}

/* Residual row rr of a split level into the ring and, on even rr >= 2, coarse row (rr - 2) / 2 of fc. */
static void res_restrictf(const float *e, const float *f, int fslots, int n0, int ne, int rr, stf2 s, float *ring,
                                 float *tmp, float *fc, const float *zero)
{
    const size_t W = (size_t)2 * ne;
    int nce = ne / 2; /* ((ne - 1) + 1) / 2 */
    resf_row(e + rr * W, FROW(f, rr, fslots, W), rr > 0 ? e + (rr - 1) * W : zero, rr < n0 - 1 ? e + (rr + 1) * W : zero, ne, s,
             ring + (rr % 3) * W);
    if (rr >= 2 && rr % 2 == 0)
        fwf_rows(ring + ((rr - 2) % 3) * W, ring + ((rr - 1) % 3) * W, ring + (rr % 3) * W, ne, tmp,
                 fc + (size_t)((rr - 2) / 2) * 2 * nce);
}

/* ns sweeps of A e = f from e = 0 (red first) and fc = R (f - A e), one pass. work: 3 W + ne floats. */
static void pre_zerof(float *e, const float *f, int n0, int ne, int ns, stf2 s, float *fc, float *work,
                      const float *zero)
{
    const size_t W = (size_t)2 * ne;
    memset(e, 0, sizeof(float) * W * n0);
    for (int i = 0; i < n0 + 2 * ns; i++) {
        wstepf(e, f, 0, n0, ne, ns, 0, i, s, zero);
        int rr = i - 2 * ns;
        if (rr >= 0 && rr < n0) res_restrictf(e, f, 0, n0, ne, rr, s, work, work + 3 * W, fc, zero);
    }
}

/* e += P ec, then ns sweeps (colour c1 first), one pass. v: ne + 1 floats. */
static void post_f(float *e, const float *f, const float *ec, int n0, int ne, int ns, int c1, stf2 s, float *v,
                   const float *zero)
{
    const size_t W = (size_t)2 * ne;
    int nc0 = (n0 - 1) / 2, done = 0;
    for (int i = 0; i < n0 + 2 * ns - 1; i++) {
        while (done < n0 && done <= i + 1) {
            prolongf_row(e + done * W, ec, nc0, ne, done, v);
            done++;
        }
        wstepf(e, f, 0, n0, ne, ns, c1, i, s, zero);
    }
    while (done < n0) {
        prolongf_row(e + done * W, ec, nc0, ne, done, v);
        done++;
    }
}

/* e = Minv f over the n slots of the coarsest level (split numbering). */
static void dense_solvef(const float *Minv, const float *f, float *e, int n)
{
    for (int p = 0; p < n; p++) {
        const float *m = Minv + (size_t)p * n;
        float acc = 0.0f;
        for (int q = 0; q < n; q++) acc += m[q] * f[q];
        e[p] = acc;
    }
}

/* Coarse-grid part of a cycle: levels l0..J-1 from zero for the right-hand side f[l0]; the result in e[l0]. */
static void coarse_cyclef(int l0, int J, const int *shape, const float *cst, float *const *e, float *const *f,
                          const float *Minv, int nu1, int nu2, int c1post, float *work, const float *zero)
{
    for (int l = l0; l < J - 1; l++) {
        const float *c = cst + 4 * l;
        stf2 s = {c[0], c[1], c[2], c[3]};
        pre_zerof(e[l], f[l], shape[2 * l], (shape[2 * l + 1] + 1) / 2, nu1, s, f[l + 1], work, zero);
    }
    dense_solvef(Minv, f[J - 1], e[J - 1], shape[2 * (J - 1)] * (shape[2 * (J - 1) + 1] + 1));
    for (int l = J - 2; l >= l0; l--) {
        const float *c = cst + 4 * l;
        stf2 s = {c[0], c[1], c[2], c[3]};
        post_f(e[l], f[l], e[l + 1], shape[2 * l], (shape[2 * l + 1] + 1) / 2, nu2, c1post, s, work, zero);
    }
}

/* sum of t[j]^2 in eight interleaved partial sums (a fixed order that vectorises; a single running sum is
 * bound by the latency of the additions) */
static double ssq8(const double *restrict t, int n)
{
    double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) a[k] += t[j + k] * t[j + k];
    double s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    for (; j < n; j++) s += t[j] * t[j];
    return s;
}

/* ||t||^2 of a float64 row of n (odd) points, and the row stored split in float32 into rq (pad zero). */
static double split_cast_row(const double *restrict t, int n, float *restrict rq)
{
    int ne = (n + 1) / 2;
    deinterleave_cast(t, rq, rq + ne, ne - 1);
    rq[ne - 1] = (float)t[n - 1];
    rq[2 * ne - 1] = 0.0f;
    return ssq8(t, n);
}

/* Row q of r = b - A x (float64, natural layout) into split float32 row rq; returns its sum of squares.
 * tmp: n1 doubles; zero64: n1 zeros. */
static double resx_row(const double *x, const double *b, int n0, int n1, int q, const double *c64,
                              double *restrict tmp, float *restrict rq, const double *zero64)
{
    const double cx = c64[0], cy = c64[1], d = c64[2];
    const double *restrict xq = x + (size_t)q * n1, *restrict bq = b + (size_t)q * n1;
    const double *restrict up = q > 0 ? xq - n1 : zero64, *restrict dn = q < n0 - 1 ? xq + n1 : zero64;
    if (n1 == 1) {
        tmp[0] = bq[0] - (d * xq[0] - cx * (up[0] + dn[0]));
    } else {
        tmp[0] = bq[0] - (d * xq[0] - cx * (up[0] + dn[0]) - cy * xq[1]);
        for (int j = 1; j < n1 - 1; j++)
            tmp[j] = bq[j] - (d * xq[j] - cx * (up[j] + dn[j]) - cy * (xq[j - 1] + xq[j + 1]));
        tmp[n1 - 1] = bq[n1 - 1] - (d * xq[n1 - 1] - cx * (up[n1 - 1] + dn[n1 - 1]) - cy * xq[n1 - 2]);
    }
    return split_cast_row(tmp, n1, rq);
}

/*
 * r = b - A x (x == NULL: r = b), float64 arithmetic, stored split float32 in r;
 * returns ||r||^2 (float64).  tmp: n1 doubles, zero64: n1 zeros.
 */
double mgk_mixed_residual2(const double *x, const double *b, int n0, int n1, const double *c64, float *r,
                           double *tmp, const double *zero64)
{
    const size_t W = (size_t)n1 + 1;
    double acc = 0.0;
    for (int q = 0; q < n0; q++) {
        if (x != NULL) {
            acc += resx_row(x, b, n0, n1, q, c64, tmp, r + q * W, zero64);
        } else {
            acc += split_cast_row(b + (size_t)q * n1, n1, r + q * W);
        }
    }
    return acc;
}

/* Pre-smoothing of the finest correction from zero and f[1] = R (r - A e) (the first step of a solve). */
void mgk_mixed_pre2(const int *shape, const float *cst, float *const *e, float *const *f, int nu1, float *work,
                    const float *zero)
{
    stf2 s = {cst[0], cst[1], cst[2], cst[3]};
    pre_zerof(e[0], f[0], shape[0], (shape[1] + 1) / 2, nu1, s, f[1], work, zero);
}

/*
 * One refinement step (J >= 2): the coarse-grid part of the cycle for f[1] (which
 * holds R (r - A e) of the pre-smoothed finest correction e[0]), then passes A, B, C
 * above over the finest level (C only when do_pre).  Returns ||b - A x||^2 of the
 * new x.  shape: 2 J ints; c64: cx, cy, d of the finest level (float64); cst: cx,
 * cy, d, 1/d of every level (float32); Minv: the dense inverse of the coarsest
 * operator in the split numbering (pad rows and columns zero); post_c1: colour the
 * post-smoothing starts with (0 red); work: (2 nu1 + 2 nu2 + 9) W + 2 floats of the
 * finest level (W = n1 + 1); tmp: n1 doubles; zero / zero64: W floats / n1 doubles of
 * zeros.  The residuals of the old and of the new x are kept in two row rings (the
 * old one recomputed from x and b as pass A reaches a row, in the arithmetic of the
 * stored one): f[0] is neither read nor written, and of the finest level only x, b
 * and e move through memory.
 */
double mgk_mixed_step2(int J, const int *shape, const double *c64, const float *cst, double *x, const double *b,
                       float *const *e, float *const *f, const float *Minv, int nu1, int nu2, int post_c1, int do_pre,
                       float *work, double *tmp, const float *zero, const double *zero64)
{
    coarse_cyclef(1, J, shape, cst, e, f, Minv, nu1, nu2, post_c1, work, zero);
    const int n0 = shape[0], n1 = shape[1], ne = (n1 + 1) / 2, nc0 = shape[2];
    const size_t W = (size_t)2 * ne;
    stf2 s = {cst[0], cst[1], cst[2], cst[3]};
    float *e0 = e[0], *f1 = f[1];
    const float *e1 = e[1];
    const int sa = 2 * nu2 + 2, sc = 2 * nu1 + 3; /* rows in the old / new residual rings */
    float *ring = work, *ftmp = work + 3 * W, *v = work + 3 * W;
    float *ra = work + 4 * W + 2, *rc = ra + (size_t)sa * W;
    double acc = 0.0;
    int done = 0;
    int last = n0 + 2 * nu2 + 1 + (do_pre ? 2 * nu1 + 1 : 0);
    for (int i = -1; i < last; i++) { /* from -1: without post-smoothing (nu2 = 0) row 0 is final at step -1 */
        /* A: correction and post-smoothing, step i */
        while (done < n0 && done <= i + 1) {
            prolongf_row(e0 + done * W, e1, nc0, ne, done, v);
            done++;
        }
        if (nu2 > 0 && i >= 0 && i < n0) resx_row(x, b, n0, n1, i, c64, tmp, FROW(ra, i, sa, W), zero64);
        if (i >= 0 && i < n0 + 2 * nu2 - 1) wstepf(e0, ra, sa, n0, ne, nu2, post_c1, i, s, zero);
        /* B: row a of e is final: x += e; the residual of row q = a - 1 */
        int a = i - 2 * nu2 + 1;
        if (a >= 0 && a < n0) {
            double *xa = x + (size_t)a * n1;
            const float *Ea = e0 + a * W;
            interleave_add_d(xa, Ea, Ea + ne, ne - 1);
            xa[n1 - 1] += (double)Ea[ne - 1];
        }
        int q = a - 1;
        if (q >= 0 && q < n0) {
            acc += resx_row(x, b, n0, n1, q, c64, tmp, FROW(rc, q, sc, W), zero64);
            if (do_pre) memset(e0 + q * W, 0, sizeof(float) * W); /* the next correction starts from zero */
        }
        /* C: pre-smoothing of the next correction, step q - 1 (row q of r and of the zero e are ready) */
        if (do_pre) {
            int ip = q - 1;
            if (ip >= 0 && ip < n0 + 2 * nu1) {
                wstepf(e0, rc, sc, n0, ne, nu1, 0, ip, s, zero);
                int rr = ip - 2 * nu1;
                if (rr >= 0 && rr < n0) res_restrictf(e0, rc, sc, n0, ne, rr, s, ring, ftmp, f1, zero);
            }
        }
    }
    return acc;
}

/* ------------------------------------------------------- mixed precision, 3D */
/*
 * The 2D scheme above on n0 x n1 x n2 levels (n2 odd): every row (i, j) is stored
 * colour-split with W = n2 + 1 floats, a plane is n1 rows (P = n1 W floats), and the
 * wavefront runs over the planes i (red = even i + j + k).  The neighbours of a point
 * in the rows (i, j +- 1) and (i +- 1, j) sit at the same index of the same half-row,
 * so a half-sweep of a row is again one unit-stride loop.
 */

typedef struct {
    float cx, cy, cz, d, inv;
} stf3;


static void gs3_span(float *restrict T, const float *restrict F, const float *restrict Im, const float *restrict Ip,
                     const float *restrict Jm, const float *restrict Jp, const float *restrict Nl,
                     const float *restrict Nr, int n, stf3 s)
{
#if defined(__AVX2__)
    const __m256 vx = _mm256_set1_ps(s.cx), vy = _mm256_set1_ps(s.cy), vz = _mm256_set1_ps(s.cz),
                 vi = _mm256_set1_ps(s.inv);
#endif
    MGK_SPAN(n,
             ST(T, MUL(ADD(ADD(ADD(LD(F), MUL(vx, ADD(LD(Im), LD(Ip)))), MUL(vy, ADD(LD(Jm), LD(Jp)))),
                           MUL(vz, ADD(LD(Nl), LD(Nr)))), vi)),
             T[m_] = (F[m_] + s.cx * (Im[m_] + Ip[m_]) + s.cy * (Jm[m_] + Jp[m_]) + s.cz * (Nl[m_] + Nr[m_])) * s.inv);
}

static void res3_span(float *restrict R, const float *restrict U, const float *restrict F, const float *restrict Im,
                      const float *restrict Ip, const float *restrict Jm, const float *restrict Jp,
                      const float *restrict Nl, const float *restrict Nr, int n, stf3 s)
{
#if defined(__AVX2__)
    const __m256 vx = _mm256_set1_ps(s.cx), vy = _mm256_set1_ps(s.cy), vz = _mm256_set1_ps(s.cz),
                 vd = _mm256_set1_ps(s.d);
#endif
    MGK_SPAN(n,
             ST(R, SUB(LD(F), SUB(SUB(SUB(MUL(vd, LD(U)), MUL(vx, ADD(LD(Im), LD(Ip)))), MUL(vy, ADD(LD(Jm), LD(Jp)))),
                                  MUL(vz, ADD(LD(Nl), LD(Nr)))))),
             R[m_] = F[m_] - (s.d * U[m_] - s.cx * (Im[m_] + Ip[m_]) - s.cy * (Jm[m_] + Jp[m_]) - s.cz * (Nl[m_] + Nr[m_])));
}

/* Colour c of split row (i, j) (t = i + j), in place; Im, Ip: rows (i -+ 1, j); Jm, Jp: rows (i, j -+ 1). */
static void gsf_row3(float *restrict row, const float *restrict F, const float *restrict Im, const float *restrict Ip,
                     const float *restrict Jm, const float *restrict Jp, int t, int c, int ne, stf3 s)
{
    const float cx = s.cx, cy = s.cy, cz = s.cz, inv = s.inv;
    if (((t + c) & 1) == 0) {
        float *restrict T = row;
        const float *restrict N = row + ne;
        T[0] = (F[0] + cx * (Im[0] + Ip[0]) + cy * (Jm[0] + Jp[0]) + cz * N[0]) * inv;
        gs3_span(T + 1, F + 1, Im + 1, Ip + 1, Jm + 1, Jp + 1, N, N + 1, ne - 1, s);
    } else {
        gs3_span(row + ne, F + ne, Im + ne, Ip + ne, Jm + ne, Jp + ne, row, row + 1, ne - 1, s);
    }
}

/* Residual f - A v of split row (i, j) into R (split; pad zero). */
static void resf_row3(const float *restrict row, const float *restrict F, const float *restrict Im,
                      const float *restrict Ip, const float *restrict Jm, const float *restrict Jp, int ne, stf3 s,
                      float *restrict R)
{
    const float cx = s.cx, cy = s.cy, cz = s.cz, d = s.d;
    const float *restrict Ev = row, *restrict Ov = row + ne;
    R[0] = F[0] - (d * Ev[0] - cx * (Im[0] + Ip[0]) - cy * (Jm[0] + Jp[0]) - cz * Ov[0]);
    res3_span(R + 1, Ev + 1, F + 1, Im + 1, Ip + 1, Jm + 1, Jp + 1, Ov, Ov + 1, ne - 1, s);
    res3_span(R + ne, Ov, F + ne, Im + ne, Ip + ne, Jm + ne, Jp + ne, Ev, Ev + 1, ne - 1, s);
    R[2 * ne - 1] = 0.0f;
}

/* Colour c of rows j0..j1-1 of plane i of a split level (n1 rows of W = 2 ne floats), in place;
 * f: the plane's right-hand side. */
static void gsf_plane3(float *e, const float *f, int n0, int n1, int ne, int i, int c, stf3 s, const float *zero,
                       int j0, int j1)
{
    const size_t W = (size_t)2 * ne, P = (size_t)n1 * W;
    float *pl = e + i * P;
    const float *pm = i > 0 ? pl - P : NULL, *pp = i < n0 - 1 ? pl + P : NULL;
    for (int j = j0; j < j1; j++) {
        float *row = pl + j * W;
        gsf_row3(row, f + j * W, pm ? pm + j * W : zero, pp ? pp + j * W : zero, j > 0 ? row - W : zero,
                 j < n1 - 1 ? row + W : zero, i + j, c, ne, s);
    }
}

#ifndef MGK_BLOCK3
#define MGK_BLOCK3 16
#endif

/*
 * Wavefront step i of ns sweeps (colour c1 first) over the planes.  The half-sweeps
 * of a step run block of rows by block of rows (all of them on one block, then the
 * next): a half-sweep of plane p reads planes p -+ 1 only in the same rows, and its
 * own plane's other colour, which no half-sweep of the step changes, so this is the
 * plane-by-plane result while the rows in use stay in cache.
 */
static void wstepf3(float *e, const float *f, int fslots, int n0, int n1, int ne, int ns, int c1, int i, stf3 s,
                    const float *zero)
{
    const size_t P = (size_t)n1 * 2 * ne;
    for (int j0 = 0; j0 < n1; j0 += MGK_BLOCK3) {
        int j1 = j0 + MGK_BLOCK3 < n1 ? j0 + MGK_BLOCK3 : n1;
        for (int k = 0; k < ns; k++) {
            int p1 = i - 2 * k, p2 = p1 - 1;
            if (p1 >= 0 && p1 < n0) gsf_plane3(e, FROW(f, p1, fslots, P), n0, n1, ne, p1, c1, s, zero, j0, j1);
            if (p2 >= 0 && p2 < n0) gsf_plane3(e, FROW(f, p2, fslots, P), n0, n1, ne, p2, 1 - c1, s, zero, j0, j1);
        }
    }
}

/* Residual plane pr into the ring of 3 planes and, on even pr >= 2, coarse plane (pr - 2) / 2 of fc.
 * tmp: 3 W + ne floats. */
static void res_restrictf3(const float *e, const float *f, int fslots, int n0, int n1, int ne, int pr, stf3 s,
                           float *ring,
                           float *tmp, float *fc, const float *zero)
{
    const size_t W = (size_t)2 * ne, P = (size_t)n1 * W;
    const float *pl = e + pr * P, *pm = pr > 0 ? pl - P : NULL, *pp = pr < n0 - 1 ? pl + P : NULL;
    const float *fp = FROW(f, pr, fslots, P);
    float *R = ring + (pr % 3) * P;
    for (int j = 0; j < n1; j++) {
        const float *row = pl + j * W;
        resf_row3(row, fp + j * W, pm ? pm + j * W : zero, pp ? pp + j * W : zero, j > 0 ? row - W : zero,
                  j < n1 - 1 ? row + W : zero, ne, s, R + j * W);
    }
    if (pr >= 2 && pr % 2 == 0) {
        const float *A = ring + ((pr - 2) % 3) * P, *C = ring + ((pr - 1) % 3) * P, *B = R;
        int nc1 = (n1 - 1) / 2, nce = ne / 2;
        size_t Wc = (size_t)2 * nce;
        float *fcp = fc + (size_t)((pr - 2) / 2) * nc1 * Wc;
        float *rows = tmp, *t = tmp + 3 * W;
        for (int J = 0; J < nc1; J++) {
            for (int q = 0; q < 3; q++) { /* fine rows 2J, 2J+1, 2J+2 weighted over the three planes */
                size_t o = (size_t)(2 * J + q) * W;
                float *rq = rows + q * W;
                for (size_t m = 0; m < W; m++) rq[m] = (A[o + m] + 2.0f * C[o + m] + B[o + m]) * 0.25f;
            }
            fwf_rows(rows, rows + W, rows + 2 * W, ne, t, fcp + J * Wc);
        }
    }
}

/* ns sweeps of A e = f (red first; from e = 0 when zero_start) and fc = R (f - A e), one pass.
 * work: 3 P + 3 W + ne floats. */
static void pre_f3(float *e, const float *f, int n0, int n1, int ne, int ns, stf3 s, float *fc, float *work,
                   const float *zero, int zero_start)
{
    const size_t W = (size_t)2 * ne, P = (size_t)n1 * W;
    if (zero_start) memset(e, 0, sizeof(float) * P * n0);
    for (int i = 0; i < n0 + 2 * ns; i++) {
        wstepf3(e, f, 0, n0, n1, ne, ns, 0, i, s, zero);
        int pr = i - 2 * ns;
        if (pr >= 0 && pr < n0) res_restrictf3(e, f, 0, n0, n1, ne, pr, s, work, work + 3 * P, fc, zero);
    }
}

/* Plane r of e += P ec (trilinear; coarse node I sits on fine node 2 I + 1 per axis).
 * h: nc1 Wc floats, v: 2 ne + 4 floats. */
static void prolongf_plane3(float *e, const float *ec, int n0, int n1, int ne, int r, float *h, float *v)
{
    const size_t W = (size_t)2 * ne;
    int nc0 = (n0 - 1) / 2, nc1 = (n1 - 1) / 2, nce = ne / 2;
    size_t Wc = (size_t)2 * nce, Pc = (size_t)nc1 * Wc;
    const float *cp;
    if (r & 1) {
        cp = ec + (size_t)((r - 1) / 2) * Pc;
    } else {
        int I = r / 2;
        const float *qa = I - 1 >= 0 ? ec + (size_t)(I - 1) * Pc : NULL, *qb = I < nc0 ? ec + (size_t)I * Pc : NULL;
        if (qa && qb) {
            for (size_t m = 0; m < Pc; m++) h[m] = 0.5f * (qa[m] + qb[m]);
        } else {
            const float *q = qa ? qa : qb;
            for (size_t m = 0; m < Pc; m++) h[m] = 0.5f * q[m];
        }
        cp = h;
    }
    float *pl = e + (size_t)r * n1 * W;
    for (int j = 0; j < n1; j++) prolongf_row(pl + j * W, cp, nc1, ne, j, v);
}

/* e += P ec, then ns sweeps (colour c1 first), one pass. work: nc1 Wc + 2 ne + 4 floats. */
static void post_f3(float *e, const float *f, const float *ec, int n0, int n1, int ne, int ns, int c1, stf3 s,
                    float *work, const float *zero)
{
    int nc1 = (n1 - 1) / 2, done = 0;
    float *h = work, *v = work + (size_t)nc1 * ne;
    for (int i = 0; i < n0 + 2 * ns - 1; i++) {
        while (done < n0 && done <= i + 1) prolongf_plane3(e, ec, n0, n1, ne, done++, h, v);
        wstepf3(e, f, 0, n0, n1, ne, ns, c1, i, s, zero);
    }
    while (done < n0) prolongf_plane3(e, ec, n0, n1, ne, done++, h, v);
}

/* Coarse-grid part of a 3D cycle: levels l0..J-1 from zero for f[l0]; the result in e[l0]. */
static void coarse_cyclef3(int l0, int J, const int *shape, const float *cst, float *const *e, float *const *f,
                           const float *Minv, int nu1, int nu2, int c1post, float *work, const float *zero)
{
    for (int l = l0; l < J - 1; l++) {
        const float *c = cst + 5 * l;
        stf3 s = {c[0], c[1], c[2], c[3], c[4]};
        pre_f3(e[l], f[l], shape[3 * l], shape[3 * l + 1], (shape[3 * l + 2] + 1) / 2, nu1, s, f[l + 1], work, zero, 1);
    }
    dense_solvef(Minv, f[J - 1], e[J - 1], shape[3 * (J - 1)] * shape[3 * (J - 1) + 1] * (shape[3 * (J - 1) + 2] + 1));
    for (int l = J - 2; l >= l0; l--) {
        const float *c = cst + 5 * l;
        stf3 s = {c[0], c[1], c[2], c[3], c[4]};
        post_f3(e[l], f[l], e[l + 1], shape[3 * l], shape[3 * l + 1], (shape[3 * l + 2] + 1) / 2, nu2, c1post, s,
                work, zero);
    }
}

/* Row (q, j) of r = b - A x (float64, natural layout) into split float32 row rq; returns its sum of squares.
 * tmp: n2 doubles; zero64: n2 zeros. */
static double resx_row3(const double *x, const double *b, int n0, int n1, int n2, int q, int j, const double *c64,
                        double *restrict tmp, float *restrict rq, const double *zero64)
{
    const double cx = c64[0], cy = c64[1], cz = c64[2], d = c64[3];
    const size_t P = (size_t)n1 * n2;
    const double *restrict xr = x + q * P + (size_t)j * n2, *restrict br = b + q * P + (size_t)j * n2;
    const double *restrict im = q > 0 ? xr - P : zero64, *restrict ip = q < n0 - 1 ? xr + P : zero64;
    const double *restrict jm = j > 0 ? xr - n2 : zero64, *restrict jp = j < n1 - 1 ? xr + n2 : zero64;
    if (n2 == 1) {
        tmp[0] = br[0] - (d * xr[0] - cx * (im[0] + ip[0]) - cy * (jm[0] + jp[0]));
    } else {
        tmp[0] = br[0] - (d * xr[0] - cx * (im[0] + ip[0]) - cy * (jm[0] + jp[0]) - cz * xr[1]);
        for (int k = 1; k < n2 - 1; k++)
            tmp[k] = br[k] - (d * xr[k] - cx * (im[k] + ip[k]) - cy * (jm[k] + jp[k]) - cz * (xr[k - 1] + xr[k + 1]));
        int L = n2 - 1;
        tmp[L] = br[L] - (d * xr[L] - cx * (im[L] + ip[L]) - cy * (jm[L] + jp[L]) - cz * xr[L - 1]);
    }
    return split_cast_row(tmp, n2, rq);
}

/* 3D mgk_mixed_residual2: r = b - A x (x == NULL: r = b) stored split in r; returns ||r||^2.
 * c64: cx, cy, cz, d; tmp / zero64: n2 doubles. */
double mgk_mixed_residual3(const double *x, const double *b, int n0, int n1, int n2, const double *c64, float *r,
                           double *tmp, const double *zero64)
{
    const size_t W = (size_t)n2 + 1;
    double acc = 0.0;
    for (int q = 0; q < n0; q++)
        for (int j = 0; j < n1; j++) {
            float *rq = r + ((size_t)q * n1 + j) * W;
            if (x != NULL) {
                acc += resx_row3(x, b, n0, n1, n2, q, j, c64, tmp, rq, zero64);
            } else {
                acc += split_cast_row(b + ((size_t)q * n1 + j) * n2, n2, rq);
            }
        }
    return acc;
}

/* 3D mgk_mixed_pre2. cst: cx, cy, cz, d, 1/d of every level. */
void mgk_mixed_pre3(const int *shape, const float *cst, float *const *e, float *const *f, int nu1, float *work,
                    const float *zero)
{
    stf3 s = {cst[0], cst[1], cst[2], cst[3], cst[4]};
    pre_f3(e[0], f[0], shape[0], shape[1], (shape[2] + 1) / 2, nu1, s, f[1], work, zero, 1);
}

/*
 * 3D mgk_mixed_step2 (passes A, B, C over the planes, the residuals in plane rings).
 * shape: 3 J ints; c64: cx, cy, cz, d of the finest level; cst: 5 floats per level;
 * work: (2 nu1 + 2 nu2 + 9) P + 5 W + 16 floats of the finest level (P = n1 W, W = n2 + 1);
 * tmp: n2 doubles; zero / zero64: W floats / n2 doubles of zeros.
 */
double mgk_mixed_step3(int J, const int *shape, const double *c64, const float *cst, double *x, const double *b,
                       float *const *e, float *const *f, const float *Minv, int nu1, int nu2, int post_c1, int do_pre,
                       float *work, double *tmp, const float *zero, const double *zero64)
{
    coarse_cyclef3(1, J, shape, cst, e, f, Minv, nu1, nu2, post_c1, work, zero);
    const int n0 = shape[0], n1 = shape[1], n2 = shape[2], ne = (n2 + 1) / 2;
    const size_t W = (size_t)2 * ne, P = (size_t)n1 * W, P64 = (size_t)n1 * n2;
    stf3 s = {cst[0], cst[1], cst[2], cst[3], cst[4]};
    float *e0 = e[0], *f1 = f[1];
    const float *e1 = e[1];
    const int sa = 2 * nu2 + 2, sc = 2 * nu1 + 3; /* planes in the old / new residual rings */
    float *ring = work, *rtmp = work + 3 * P, *h = work + 3 * P + 3 * W + ne, *v = h + P;
    float *ra = v + 2 * W + 8, *rc = ra + (size_t)sa * P;
    double acc = 0.0;
    int done = 0;
    int last = n0 + 2 * nu2 + 1 + (do_pre ? 2 * nu1 + 1 : 0);
    for (int i = -1; i < last; i++) {
        while (done < n0 && done <= i + 1) prolongf_plane3(e0, e1, n0, n1, ne, done++, h, v);
        if (nu2 > 0 && i >= 0 && i < n0)
            for (int j = 0; j < n1; j++) resx_row3(x, b, n0, n1, n2, i, j, c64, tmp, FROW(ra, i, sa, P) + j * W, zero64);
        if (i >= 0 && i < n0 + 2 * nu2 - 1) wstepf3(e0, ra, sa, n0, n1, ne, nu2, post_c1, i, s, zero);
        int a = i - 2 * nu2 + 1;
        if (a >= 0 && a < n0) {
            for (int j = 0; j < n1; j++) {
                double *xr = x + a * P64 + (size_t)j * n2;
                const float *Er = e0 + a * P + j * W;
                interleave_add_d(xr, Er, Er + ne, ne - 1);
                xr[n2 - 1] += (double)Er[ne - 1];
            }
        }
        int q = a - 1;
        if (q >= 0 && q < n0) {
            for (int j = 0; j < n1; j++)
                acc += resx_row3(x, b, n0, n1, n2, q, j, c64, tmp, FROW(rc, q, sc, P) + j * W, zero64);
            if (do_pre) memset(e0 + q * P, 0, sizeof(float) * P);
        }
        if (do_pre) {
            int ip = q - 1;
            if (ip >= 0 && ip < n0 + 2 * nu1) {
                wstepf3(e0, rc, sc, n0, n1, ne, nu1, 0, ip, s, zero);
                int pr = ip - 2 * nu1;
                if (pr >= 0 && pr < n0) res_restrictf3(e0, rc, sc, n0, n1, ne, pr, s, ring, rtmp, f1, zero);
            }
        }
    }
    return acc;
}
