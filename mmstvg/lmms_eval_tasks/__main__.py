"""``python -m mmstvg.lmms_eval_tasks`` prints the task folder (for ``--include_path``)."""
from mmstvg.lmms_eval_tasks import TASKS_DIR

if __name__ == '__main__':
    print(TASKS_DIR)
