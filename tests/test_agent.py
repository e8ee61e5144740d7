"""What TD3 and SAC share (minidst.agent): the twin-critic loss and the checkpoint state."""

import copy

import numpy as np
import pytest
from conftest import make_agent, make_batch

from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.nn import mse_loss


@pytest.mark.parametrize("algo", ["td3", "sac"])
@pytest.mark.parametrize("sparse", [False, True])
def test_critic_loss_gradients(algo, sparse, rng):
    agent = make_agent(algo, sparse=sparse)
    batch = make_batch(rng)
    y = agent.td_target(batch)
    agent.critic_loss(batch, y)
    for c, critic in enumerate(agent.critics):
        analytic = [g.copy() for g in critic.gradients()]

        def loss(critic=critic):
            x = np.concatenate([batch["obs"], batch["action"]])
            return mse_loss(critic.forward(x), y)[0]

        for i, (param, grad) in enumerate(zip(critic.parameters(), analytic)):
            assert_gradient_close(
                f"critic {c + 1} parameter {i}", grad, central_difference(loss, param)
            )


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_state_dict_restores_a_trained_agent_exactly(algo, rng):
    agent = make_agent(algo, sparse=True, evolve=True)
    for _ in range(15):  # past a topology update
        agent.update(make_batch(rng))
    clone = make_agent(algo, seed=1, sparse=True, evolve=True)
    clone.load_state_dict(copy.deepcopy(agent.state_dict()))
    batch = make_batch(rng)
    clone.rng = copy.deepcopy(agent.rng)  # the run's generator is saved by the trainer
    np.testing.assert_array_equal(
        clone.update(batch)["losses/critic"], agent.update(batch)["losses/critic"]
    )
    for name, net in agent.all_networks().items():
        for a, b in zip(net.parameters(), clone.all_networks()[name].parameters()):
            np.testing.assert_array_equal(a, b, err_msg=name)
