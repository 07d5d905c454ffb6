from django.contrib.auth import views as auth_views
from django.urls import path

from hub.accounts import password_views, token_views, views
from hub.throttle import limit_posts

urlpatterns = [
    path("", views.account, name="account"),
    path("login/", limit_posts("login")(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("verify/resend/", views.resend_verification, name="verify-resend"),
    path("verify/<str:token>/", views.verify_email, name="verify-email"),
    # Django's names: its views and templates find each other by them.
    path("password/reset/", password_views.password_reset, name="password_reset"),
    path("password/reset/sent/", password_views.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", password_views.password_reset_confirm,
         name="password_reset_confirm"),
    path("password/reset/done/", password_views.password_reset_complete,
         name="password_reset_complete"),
    path("password/change/", password_views.password_change, name="password_change"),
    path("password/change/done/", password_views.password_change_done,
         name="password_change_done"),
    path("tokens/", token_views.tokens, name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.revoke_token, name="api-token-revoke"),
]
