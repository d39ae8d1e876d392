"""Files in and out: the pose file every command shares, and atomic writes."""
from .atomic import atomic_path
from .posefile import PoseSequence, load_pose_file, save_pose_file

__all__ = ["PoseSequence", "atomic_path", "load_pose_file", "save_pose_file"]
