# Sphinx configuration of the virtcloud.core documentation site (`make docs`, scripts/docs.sh).
# The RST comes from antsibull-docs (modules, the inventory plugin and the roles' meta/argument_specs.yml);
# links into the Ansible documentation resolve through a local inventory (ansible_devel.inv, written
# by scripts/docs_inventory.py), so the site builds offline and -W still fails on any broken reference.

project = 'virtcloud.core'
copyright = 'virtcloud.core contributors'
title = 'virtcloud.core documentation'
html_short_title = 'virtcloud.core'

extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'
nitpicky = True

intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', ('../ansible_devel.inv',)),
}
intersphinx_timeout = 1
