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

#define MGK_VERSION 2

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
