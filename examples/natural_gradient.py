"""The meta-policy's natural gradient, from the adaptation's Jacobian products.

``algo.post_adaptation(train, valid).linearize`` linearises the adapted policy on every task's validation
data as a function of the meta-parameters, once: ``jvp(v) = J v`` and ``vjp(w) = J^T w``,
with the inner loss's Hessian applied symmetrically inside both. From them come the
surrogate's meta-gradient (``J^T dL/doutputs``) and the Fisher-vector product
(``J^T H_KL J v``) that conjugate gradient inverts: TRPO's step direction, here computed by
hand so it can be used in other outer loops.

    python examples/natural_gradient.py [--tasks 20] [--episodes 20]
"""

import argparse

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

import metajax
from metajax import optim


def main(tasks: int = 20, episodes: int = 20, tiny: bool = False) -> dict[str, float]:
    env, _ = metajax.make("Navigation2D-v0", horizon=10 if tiny else 100)
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(),
                                 (8, 8) if tiny else (64, 64), "tanh")
    algo = metajax.maml(env, policy, num_tasks=tasks, num_episodes=episodes)
    meta = algo.init(jax.random.key(0)).meta_params
    train, valid, *_ = jax.jit(algo.sample_meta_batch)(meta, jax.random.key(1))

    @jax.jit
    def natural_gradient(meta):
        post = algo.post_adaptation(train, valid)
        outputs, jvp, vjp = post.linearize(meta)
        old = jax.lax.stop_gradient(outputs)
        fvp = optim.gauss_newton_product(old, jvp, vjp, post.kl_divergence())
        _, grads = post.surrogate_value_and_grad(meta, old, vjp)
        g, unravel = ravel_pytree(grads)
        solve = optim.conjugate_gradient(lambda v: ravel_pytree(fvp(unravel(v)))[0] + 1e-5 * v,
                                         g, max_iters=10)
        return g, solve.x, solve.residual

    g, direction, residual = natural_gradient(meta)
    result = {"gradient_norm": float(jnp.linalg.norm(g)),
              "relative_cg_residual": float(jnp.linalg.norm(residual) / jnp.linalg.norm(g)),
              "cosine_to_gradient": float(jnp.vdot(g, direction)
                                          / (jnp.linalg.norm(g) * jnp.linalg.norm(direction)))}
    print(", ".join(f"{k} {v:.4g}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    main(args.tasks, args.episodes)
