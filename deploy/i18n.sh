#!/bin/sh
# Refresh the translation catalogues: extract every marked string, merge it into
# app/translations/*/LC_MESSAGES/messages.po, and compile the .mo files the app loads.
# Run it after changing user-facing text, then translate what `pybabel` left empty.
set -eu
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
"$PYBABEL" -q extract -F app/babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location --sort-output \
    --project Atrium --copyright-holder "Atrium" -o app/translations/messages.pot app
for locale in zh_Hans en; do
    if [ -f "app/translations/$locale/LC_MESSAGES/messages.po" ]; then
        "$PYBABEL" -q update --no-fuzzy-matching -i app/translations/messages.pot -d app/translations -l "$locale"
    else
        "$PYBABEL" -q init -i app/translations/messages.pot -d app/translations -l "$locale"
    fi
done
"$PYBABEL" -q compile --use-fuzzy -d app/translations 2>/dev/null || "$PYBABEL" compile -d app/translations
