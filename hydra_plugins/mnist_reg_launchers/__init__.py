"""mnist-reg's Hydra launchers (Hydra loads launchers from the ``hydra_plugins`` package
only): ``hydra/launcher=slurm`` and ``hydra/launcher=local``, in ``launchers``."""
