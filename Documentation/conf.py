# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration for ktask's documentation, Documentation/ktask/.
# scripts/docs.sh ("make docs") runs sphinx-build with this directory as
# the configuration directory; see Documentation/ktask/testing.rst.
#
# The kernel-doc directive and the kernel-doc script are the kernel's own,
# Documentation/sphinx/kerneldoc.py and scripts/kernel-doc, taken at build
# time from the tree that scripts/lib.sh (ktask_linux_src) extracts from
# Debian's linux-source tarball.  docs.sh passes that tree in the
# environment, KTASK_LINUX_SRC; it is never copied here.

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_linux = os.environ.get('KTASK_LINUX_SRC')
if not _linux or not os.path.isfile(os.path.join(_linux, 'scripts', 'kernel-doc')):
    sys.exit('Documentation/conf.py: set KTASK_LINUX_SRC to the tree '
             'scripts/ksft-src.sh prints (use "make docs")')

sys.path.insert(0, os.path.join(_linux, 'Documentation', 'sphinx'))

project = 'ktask'
release = os.environ.get('KTASK_DOCS_VERSION', '')
version = release

extensions = ['kerneldoc']

# The directive runs the kernel-doc script on paths relative to the
# repository root ("include/linux/ktask.h", "ktask/join.c").
kerneldoc_bin = os.path.join(_linux, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.dirname(_here)
# 1: the script's own warnings reach stderr, where docs.sh counts them.
kerneldoc_verbosity = 1

master_doc = 'index'
source_suffix = '.rst'
language = 'en'
exclude_patterns = []
# The API is C: ``name()`` and the signatures the directive emits.
primary_domain = 'c'
highlight_language = 'none'
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_title = 'ktask'
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
