# fbgemm_model.py (a verbatim copy of the team's file) does `import reference as R`; in the team's folder that is
# reference.py, of which numerics_reference.py here is the verbatim copy. This alias lets the copy run unchanged.
from numerics_reference import *  # noqa: F401,F403
from numerics_reference import _chan  # noqa: F401  (underscore names are not exported by *)
