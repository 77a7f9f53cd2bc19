"""A role's template, rendered as ansible.builtin.template's lookup renders it, without a deep copy.

ansible.builtin.template's lookup deep-copies every variable of the task (the host's facts,
each registered read, every role's variables) before each template it renders, so that the
template may see a few variables of its own (``ansible_managed``, ``template_path`` and the
other ``template_*``). Rendering reads variables and never changes them: a shallow copy
with those added gives the same text. The roles render the files they would write on every
run, to compare them with what the host holds (k3s_install's config.yaml, unit,
environment file and helper scripts, pi_prereq's module and sysctl files), once per host
per file, so the copies were a large part of a no-op's cost (docs/performance.md, round
fourteen). It takes no options: every role template uses the default delimiters.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template

DOCUMENTATION = r"""
name: template
short_description: A role's template rendered as ansible.builtin.template's lookup renders it, without copying every variable
description:
  - Renders each file named in the terms, found as ansible.builtin.template's lookup finds
    it (the C(templates) directories of the role and play), with the same variables and the
    same template variables (C(ansible_managed), C(template_path), C(template_fullpath),
    C(template_host), C(template_uid), C(template_mtime), C(template_run_date)), the same
    search path for includes and the same Jinja settings, and returns the text.
  - Unlike ansible.builtin.template's lookup, it does not deep-copy the task's variables
    for each file first, and it takes no options (default delimiters, C(trim_blocks) on).
options:
  _terms:
    description: The template files to render.
    required: true
"""

EXAMPLES = r"""
- name: Show what config.yaml would hold.
  ansible.builtin.debug:
    msg: "{{ lookup('pik8s.cluster.template', 'config.yaml.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each file.
  type: list
  elements: str
"""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        # pylint: disable=import-outside-toplevel
        from ansible._internal._templating import _template_vars
        from ansible._internal._templating._engine import TemplateOptions, TemplateOverrides

        if kwargs:
            raise AnsibleError(
                f"lookup pik8s.cluster.template takes no options (got {sorted(kwargs)}); "
                "use ansible.builtin.template for other delimiters or template_vars"
            )
        variables = variables if variables is not None else {}
        found_in = variables.get("ansible_search_path", [])
        rendered = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError(f"the template file {term} could not be found for the lookup")
            text = trust_as_template(self._loader.get_text_file_contents(path))
            # includes resolve from the file's own directory, then each search path's
            # templates directory and the path itself
            include_dirs = [os.path.dirname(path)]
            for where in found_in:
                include_dirs += [os.path.join(where, "templates"), where]
            names = dict(variables)  # one level: rendering never changes a variable
            names.update(
                _template_vars.generate_ansible_template_vars(
                    path=term, fullpath=path, include_ansible_managed="ansible_managed" not in names
                )
            )
            templar = self._templar.copy_with_new_env(
                available_variables=names, searchpath=include_dirs
            )
            options = TemplateOptions(escape_backslashes=False, overrides=TemplateOverrides.DEFAULT)
            # pylint: disable-next=protected-access
            rendered.append(templar._engine.template(text, options=options))
        return rendered
