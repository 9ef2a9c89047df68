from setuptools import find_packages, setup

setup(name="users-service", packages=find_packages(where="src"), package_dir={"": "src"})
